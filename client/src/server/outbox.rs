//! Sending replies and pushes through the server's ROUTER socket.
//!
//! With `ZMQ_ROUTER_MANDATORY` a send to a full peer fails with `EAGAIN`
//! and a send to a gone peer with `EHOSTUNREACH`. A reply waits for room
//! (bounded by the send timeout) in its own task, so a slow peer holds up
//! nobody else; a reply that cannot be delivered is logged and counted.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{Envelope, Routed};
use crate::socket::{AsyncSocket, SendError};
use crate::Frame;

use super::stats::{bump, Counters};
use super::ServerError;

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
    /// The peer is gone (`EHOSTUNREACH`).
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
    socket: Arc<AsyncSocket>,
    counters: Arc<Counters>,
    send_timeout: Duration,
    gates: Arc<Gates>,
}

/// One gate per peer whose queue is full: its waiting replies line up
/// behind one sender instead of each polling the socket, so a peer that
/// stops reading costs the others nothing (PROTOCOL.md §2.5).
type Gates = std::sync::Mutex<HashMap<Vec<u8>, Arc<tokio::sync::Mutex<()>>>>;

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    pub(crate) fn new(
        socket: Arc<AsyncSocket>,
        counters: Arc<Counters>,
        send_timeout: Duration,
    ) -> Outbox {
        Outbox {
            socket,
            counters,
            send_timeout,
            gates: Arc::default(),
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The serving loops' next message, split into envelope and body, or
    /// `None` once `shutdown` completes.
    pub(crate) async fn receive(
        &self,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Option<Routed>, ServerError> {
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(None),
                m = self.socket.recv() => match m {
                    Ok(frames) => {
                        bump(&self.counters.received);
                        return Ok(Some(Routed::split(frames, true)));
                    }
                    Err(zmq::Error::EINTR) => continue,
                    Err(e) => return Err(ServerError::Recv(e)),
                },
            }
        }
    }

    /// Sends `body` to the peer of `envelope`, in the same envelope,
    /// waiting up to the server's send timeout while the peer's queue is
    /// full.
    pub async fn send(&self, envelope: &Envelope, body: Vec<Frame>) -> Result<(), Undelivered> {
        self.send_frames(envelope.wrap(body)).await
    }

    /// Sends `body` to the peer of `envelope` only if its queue has room
    /// now. Suits pushes that a newer one will replace, like world updates.
    pub fn try_send(&self, envelope: &Envelope, body: Vec<Frame>) -> Result<(), Undelivered> {
        match self.socket.try_send(envelope.wrap(body)) {
            Ok(()) => Ok(()),
            Err((_, SendError::Full)) => Err(Undelivered::Full),
            Err((_, SendError::Unroutable)) => Err(Undelivered::Gone),
            Err((_, SendError::Zmq(e))) => Err(Undelivered::Failed(e)),
        }
    }

    async fn send_frames(&self, frames: Vec<Frame>) -> Result<(), Undelivered> {
        let key = frames.first().map(|f| f.to_vec()).unwrap_or_default();
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
            gates.entry(key.clone()).or_default().clone()
        };
        let queued = async {
            let _turn = gate.lock().await;
            self.socket.send(frames).await
        };
        let outcome = tokio::time::timeout(self.send_timeout, queued).await;
        {
            // The last one out (the map holds one reference, we the other).
            let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
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
        let named = envelope.identity().is_some();
        // Most replies go straight out: no timer, no peer name.
        let frames = match self.socket.try_send(envelope.into_reply([body])) {
            Ok(()) => return self.replied(is_error),
            Err((frames, SendError::Full)) => frames,
            Err((frames, e)) => return self.refused(&frames, named, e),
        };
        let peer = name_of(&frames, named);
        match self.send_frames(frames).await {
            Ok(()) => self.replied(is_error),
            Err(e) => self.undelivered(&peer, e),
        }
    }

    /// Sends an error reply only if the peer's queue has room now; counts
    /// it, or logs and counts why it was not sent.
    pub(crate) fn try_reply(&self, envelope: Envelope, body: Frame) {
        let named = envelope.identity().is_some();
        match self.socket.try_send(envelope.into_reply([body])) {
            Ok(()) => self.replied(true),
            Err((frames, e)) => self.refused(&frames, named, e),
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
        let named = envelope.identity().is_some();
        let frames = match self.socket.try_send(envelope.into_reply(body)) {
            Ok(()) => return self.replied(false),
            Err((frames, SendError::Full)) => frames,
            Err((frames, e)) => return self.refused(&frames, named, e),
        };
        let peer = name_of(&frames, named);
        stalled.store(true, Ordering::SeqCst);
        let sent = self.send_frames(frames).await;
        stalled.store(false, Ordering::SeqCst);
        match sent {
            Ok(()) => bump(&self.counters.replied),
            Err(e) => self.undelivered(&peer, e),
        }
    }

    fn replied(&self, is_error: bool) {
        bump(&self.counters.replied);
        if is_error {
            bump(&self.counters.error_replies);
        }
    }

    /// Logs and counts a reply that `try_send` refused; `frames` are what
    /// it gave back (the whole message when the first frame was refused).
    fn refused(&self, frames: &[Frame], named: bool, e: SendError) {
        let e = match e {
            SendError::Full => Undelivered::Full,
            SendError::Unroutable => Undelivered::Gone,
            SendError::Zmq(e) => Undelivered::Failed(e),
        };
        self.undelivered(&name_of(frames, named), e);
    }

    fn undelivered(&self, peer: &str, e: Undelivered) {
        let counter = match e {
            Undelivered::Gone => &self.counters.dropped_gone,
            Undelivered::Full | Undelivered::TimedOut(_) => &self.counters.dropped_full,
            Undelivered::Failed(_) => &self.counters.dropped_other,
        };
        bump(counter);
        tracing::warn!(peer, "reply dropped: {e}");
    }
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

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
