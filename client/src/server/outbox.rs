//! Sending replies and pushes to a server's peers.
//!
//! On libzmq, with `ZMQ_ROUTER_MANDATORY`, a send to a full peer fails with
//! `EAGAIN` and a send to a gone peer with `EHOSTUNREACH`. On the native
//! transport a peer is a connection with a queue in front of it, found by
//! its routing identity in [`Peers`]; a full queue and a closed connection
//! mean the same two things. Either way a reply waits for room (bounded by
//! the send timeout) in its own task, so a slow peer holds up nobody else;
//! a reply that cannot be delivered is logged and counted.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::frame::Frame;
use crate::protocol::Envelope;
use crate::socket::{AsyncSocket, SendError};
use crate::transport::native::{Outgoing, Refused};

use super::stats::{bump, Counters};

/// Why a message to a peer was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Undelivered {
    /// The peer's queue is full (only from [`Outbox::try_send`]).
    #[error("the peer's queue is full")]
    Full,
    /// The peer's queue stayed full for the whole send timeout.
    #[error("the peer's queue stayed full for {0:?}")]
    TimedOut(Duration),
    /// The peer is gone (`EHOSTUNREACH`, or its connection closed).
    #[error("the peer is gone")]
    Gone,
    /// libzmq refused the message for another reason.
    #[error("send failed: {0}")]
    Failed(zmq::Error),
}

/// A handle to send messages to the peers of a server.
///
/// Every [`Call`](super::Call) carries one, so a handler can push messages
/// to peers it remembers (PROTOCOL.md §7.1), e.g. world updates to
/// subscribers.
#[derive(Clone)]
pub struct Outbox {
    route: Route,
    counters: Arc<Counters>,
    send_timeout: Duration,
}

#[derive(Clone)]
enum Route {
    Zmq {
        socket: Arc<AsyncSocket>,
        gates: Arc<Gates>,
    },
    Native(Arc<Peers>),
}

/// One gate per peer whose queue is full: its waiting replies line up
/// behind one sender instead of each polling the socket, so a peer that
/// stops reading costs the others nothing (PROTOCOL.md §2.5).
type Gates = Mutex<HashMap<Vec<u8>, Arc<tokio::sync::Mutex<()>>>>;

/// The connected peers of a native server, by routing identity: what a
/// ROUTER socket keeps inside libzmq.
#[derive(Default)]
pub(crate) struct Peers {
    map: Mutex<HashMap<Bytes, Arc<Outgoing>>>,
    next: AtomicU32,
}

impl Peers {
    /// The identity of a new peer: its own `Identity` if it sent one and it
    /// is free, else one made up as libzmq does (a zero byte, then a
    /// counter). `None` when the peer's identity is taken: libzmq refuses
    /// such a connection too.
    pub(crate) fn join(&self, asked: Option<Bytes>, out: Arc<Outgoing>) -> Option<Bytes> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let identity = match asked {
            Some(id) if !id.is_empty() && id[0] != 0 => {
                if map.contains_key(&id) {
                    return None;
                }
                id
            }
            _ => loop {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let mut id = vec![0u8];
                id.extend_from_slice(&n.to_be_bytes());
                let id = Bytes::from(id);
                if !map.contains_key(&id) {
                    break id;
                }
            },
        };
        map.insert(identity.clone(), out);
        Some(identity)
    }

    pub(crate) fn leave(&self, identity: &Bytes) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(identity);
    }

    fn find(&self, identity: &[u8]) -> Option<Arc<Outgoing>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(identity)
            .cloned()
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    pub(crate) fn zmq(
        socket: Arc<AsyncSocket>,
        counters: Arc<Counters>,
        send_timeout: Duration,
    ) -> Outbox {
        Outbox {
            route: Route::Zmq {
                socket,
                gates: Arc::default(),
            },
            counters,
            send_timeout,
        }
    }

    pub(crate) fn native(
        peers: Arc<Peers>,
        counters: Arc<Counters>,
        send_timeout: Duration,
    ) -> Outbox {
        Outbox {
            route: Route::Native(peers),
            counters,
            send_timeout,
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Sends `body` to the peer of `envelope`, in the same envelope,
    /// waiting up to the server's send timeout while the peer's queue is
    /// full.
    pub async fn send(&self, envelope: &Envelope, body: Vec<Frame>) -> Result<(), Undelivered> {
        match &self.route {
            Route::Zmq { socket, .. } => match socket.try_send(envelope.wrap(body)) {
                Ok(()) => Ok(()),
                Err((frames, SendError::Full)) => self.send_frames(frames).await,
                Err((_, SendError::Unroutable)) => Err(Undelivered::Gone),
                Err((_, SendError::Zmq(e))) => Err(Undelivered::Failed(e)),
            },
            Route::Native(peers) => {
                let out = peer_of(peers, envelope)?;
                let frames = match out.try_push(native_frames(envelope, body).collect()) {
                    Ok(()) => return Ok(()),
                    Err((_, Refused::Closed)) => return Err(Undelivered::Gone),
                    Err((frames, Refused::Full)) => frames,
                };
                if out.mark_stalled() {
                    log_full(&peer_name(envelope));
                }
                match tokio::time::timeout(self.send_timeout, out.push(frames)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(Undelivered::Gone),
                    Err(_) => Err(Undelivered::TimedOut(self.send_timeout)),
                }
            }
        }
    }

    /// Sends `body` to the peer of `envelope` only if its queue has room
    /// now. Suits pushes that a newer one will replace, like world updates.
    pub fn try_send(&self, envelope: &Envelope, body: Vec<Frame>) -> Result<(), Undelivered> {
        match &self.route {
            Route::Zmq { socket, .. } => match socket.try_send(envelope.wrap(body)) {
                Ok(()) => Ok(()),
                Err((_, SendError::Full)) => Err(Undelivered::Full),
                Err((_, SendError::Unroutable)) => Err(Undelivered::Gone),
                Err((_, SendError::Zmq(e))) => Err(Undelivered::Failed(e)),
            },
            Route::Native(peers) => {
                let out = peer_of(peers, envelope)?;
                match out.try_push(native_frames(envelope, body).collect()) {
                    Ok(()) => Ok(()),
                    Err((_, Refused::Full)) => Err(Undelivered::Full),
                    Err((_, Refused::Closed)) => Err(Undelivered::Gone),
                }
            }
        }
    }

    async fn send_frames(&self, frames: Vec<Frame>) -> Result<(), Undelivered> {
        let Route::Zmq { socket, gates } = &self.route else {
            unreachable!("libzmq frames go to a libzmq socket");
        };
        let key = frames.first().map(|f| f.to_vec()).unwrap_or_default();
        let gate = {
            let mut gates = gates.lock().unwrap_or_else(|p| p.into_inner());
            gates
                .entry(key.clone())
                .or_insert_with(|| {
                    log_full(&name_of(&frames, true));
                    Arc::default()
                })
                .clone()
        };
        let queued = async {
            let _turn = gate.lock().await;
            socket.send(frames).await
        };
        let outcome = tokio::time::timeout(self.send_timeout, queued).await;
        {
            // The last one out (the map holds one reference, we the other).
            let mut gates = gates.lock().unwrap_or_else(|p| p.into_inner());
            if Arc::strong_count(&gate) == 2 {
                gates.remove(&key);
            }
        }
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(SendError::Unroutable)) => Err(Undelivered::Gone),
            Ok(Err(SendError::Full)) | Err(_) => Err(Undelivered::TimedOut(self.send_timeout)),
            Ok(Err(SendError::Zmq(e))) => Err(Undelivered::Failed(e)),
        }
    }

    /// Sends a reply, counting it; a reply that cannot be delivered is
    /// logged at `warn` and counted, never dropped silently.
    pub(crate) async fn reply(&self, envelope: Envelope, body: Frame, is_error: bool) {
        match self.send_reply(envelope, vec![body], None).await {
            Ok(()) => self.replied(is_error),
            Err((peer, e)) => self.undelivered(&peer, e),
        }
    }

    /// Sends an error reply only if the peer's queue has room now; counts
    /// it, or logs and counts why it was not sent.
    pub(crate) fn try_reply(&self, envelope: Envelope, body: Frame) {
        let peer = || peer_name(&envelope);
        match self.try_send(&envelope, vec![body]) {
            Ok(()) => self.replied(true),
            Err(e) => self.undelivered(&peer(), e),
        }
    }

    /// Like `reply` for a multipart raw reply. `stalled` is true while the
    /// reply waits for room in the peer's queue, which tells the receiving
    /// loop that this peer is not reading.
    pub(crate) async fn reply_frames(
        &self,
        envelope: Envelope,
        body: Vec<Frame>,
        stalled: &AtomicBool,
    ) {
        match self.send_reply(envelope, body, Some(stalled)).await {
            Ok(()) => bump(&self.counters.replied),
            Err((peer, e)) => self.undelivered(&peer, e),
        }
    }

    /// Sends a reply at once if there is room, else waits for room up to
    /// the send timeout. On failure, the peer's name and why.
    async fn send_reply(
        &self,
        envelope: Envelope,
        body: Vec<Frame>,
        stalled: Option<&AtomicBool>,
    ) -> Result<(), (String, Undelivered)> {
        let Route::Zmq { socket, .. } = &self.route else {
            // Native: the peer's queue takes it or makes it wait.
            return self
                .send(&envelope, body)
                .await
                .map_err(|e| (peer_name(&envelope), e));
        };
        let named = envelope.identity().is_some();
        // Most replies go straight out: no timer, no peer name.
        let frames = match socket.try_send(envelope.into_reply(body)) {
            Ok(()) => return Ok(()),
            Err((frames, SendError::Full)) => frames,
            Err((frames, e)) => {
                let e = match e {
                    SendError::Full => Undelivered::Full,
                    SendError::Unroutable => Undelivered::Gone,
                    SendError::Zmq(e) => Undelivered::Failed(e),
                };
                return Err((name_of(&frames, named), e));
            }
        };
        let peer = name_of(&frames, named);
        if let Some(s) = stalled {
            s.store(true, Ordering::SeqCst);
        }
        let sent = self.send_frames(frames).await;
        if let Some(s) = stalled {
            s.store(false, Ordering::SeqCst);
        }
        sent.map_err(|e| (peer, e))
    }

    pub(crate) fn replied(&self, is_error: bool) {
        bump(&self.counters.replied);
        if is_error {
            bump(&self.counters.error_replies);
        }
    }

    pub(crate) fn undelivered(&self, peer: &str, e: Undelivered) {
        let counter = match e {
            Undelivered::Gone => &self.counters.dropped_gone,
            Undelivered::Full | Undelivered::TimedOut(_) => &self.counters.dropped_full,
            Undelivered::Failed(_) => &self.counters.dropped_other,
        };
        bump(counter);
        tracing::warn!(peer, "reply dropped: {e}");
    }
}

/// The first reply that finds a peer's queue full says so (at debug level):
/// the evidence a test or an operator looks for that a peer stopped reading.
pub(crate) fn log_full(peer: &str) {
    tracing::debug!(
        peer,
        "the peer's queue is full: replies to it wait for room"
    );
}

/// A short printable name for the peer of an envelope: its identity in hex.
pub fn peer_name(envelope: &Envelope) -> String {
    match envelope.identity() {
        Some(id) => hex(id),
        None => "-".to_owned(),
    }
}

/// The peer name of a message on its way out; `named` when its envelope
/// has an identity (then the first frame).
fn name_of(frames: &[Frame], named: bool) -> String {
    match frames.first() {
        Some(id) if named => hex(id),
        _ => "-".to_owned(),
    }
}

pub(super) fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The peer of `envelope` on a native server.
fn peer_of(peers: &Peers, envelope: &Envelope) -> Result<Arc<Outgoing>, Undelivered> {
    envelope
        .identity()
        .and_then(|id| peers.find(id))
        .ok_or(Undelivered::Gone)
}

/// A message for a native connection: the envelope without the identity
/// (the connection is the identity), then the body.
pub(super) fn native_frames<'a>(
    envelope: &'a Envelope,
    body: impl IntoIterator<Item = Frame> + 'a,
) -> impl Iterator<Item = Frame> + 'a {
    envelope.after_identity().iter().cloned().chain(body)
}
