//! [`Link`]: a plug's connection to one endpoint, and its health.
//!
//! A plug holds one link per endpoint (see `balance`), whatever the
//! transport: a native link is a task that dials, runs the ZMTP handshake,
//! reads batches and writes what callers queue, and dials again when the
//! connection drops; a libzmq link is a DEALER socket connected to that one
//! endpoint, with a reader task and libzmq's socket monitor. Either way the
//! link keeps the counters that the balancer reads and [`EndpointStats`]
//! shows.

mod native;
mod zmq_link;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::connection::Dispatch;
use crate::error::{Error, TransportError};
use crate::frame::Frames;
use crate::socket::{AsyncSocket, SendError};
use crate::transport::native::{Outgoing, Refused};
use crate::transport::{Address, Transport};

/// Where a link stands, as [`EndpointStats::state`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LinkState {
    /// Not connected: dialing, or waiting to dial again.
    Connecting,
    /// Connected and answering.
    Connected,
    /// Connected, but a request timed out with nothing received since it
    /// was sent: gets no new requests while another endpoint can take them.
    Unresponsive,
    /// The server said it is shutting down, or the endpoint left the
    /// discovered set: gets no new requests (until it connects again: a
    /// new connection is a new server).
    Draining,
}

impl std::fmt::Display for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Unresponsive => "unresponsive",
            LinkState::Draining => "draining",
        })
    }
}

/// One endpoint's counters, as [`crate::PlugStats::per_endpoint`] lists them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint, e.g. `tcp://10.0.0.7:9000`.
    pub endpoint: String,
    /// The transport that carries it.
    pub transport: Transport,
    /// Where the link stands now.
    pub state: LinkState,
    /// Requests sent on this link and waiting for their reply now.
    pub in_flight: u64,
    /// Messages or requests put on this link.
    pub sent: u64,
    /// Replies to requests sent on this link (success replies).
    pub ok: u64,
    /// Error replies to requests sent on this link.
    pub errors: u64,
    /// Requests sent on this link that timed out.
    pub timeouts: u64,
    /// Connections lost since the link opened.
    pub disconnects: u64,
}

/// What the balancer and the stats read of a link. Cheap atomics only.
pub(crate) struct Health {
    /// Shared by every link of a plug: a link came up, went down or
    /// started draining.
    changed: Arc<Notify>,
    connected: AtomicBool,
    unresponsive: AtomicBool,
    draining: AtomicBool,
    pub(crate) in_flight: AtomicU64,
    /// Messages received: a request that times out with this unchanged
    /// since it was sent marks the link unresponsive.
    pub(crate) received: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) disconnects: AtomicU64,
}

/// How one request sent on a link ended, for its counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Ok,
    Error,
    Timeout { received_before: u64 },
    Other,
}

impl Health {
    pub(crate) fn new(changed: Arc<Notify>) -> Health {
        Health {
            changed,
            connected: AtomicBool::new(false),
            unresponsive: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
        }
    }

    /// Records that the link's connection came up or went down.
    pub(crate) fn set_connected(&self, up: bool) {
        let was = self.connected.swap(up, Ordering::AcqRel);
        if was && !up {
            self.disconnects.fetch_add(1, Ordering::Relaxed);
        }
        if up {
            // A new connection starts with a clean record. A server that
            // said it was shutting down has closed its connections and its
            // listener: whoever answers now is a new server at that address
            // (a restart, a rolling update in place), so the endpoint takes
            // requests again.
            self.unresponsive.store(false, Ordering::Relaxed);
            self.draining.store(false, Ordering::Relaxed);
        }
        if was != up {
            self.changed.notify_waiters();
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub(crate) fn is_unresponsive(&self) -> bool {
        self.unresponsive.load(Ordering::Relaxed)
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub(crate) fn state(&self) -> LinkState {
        if self.is_draining() {
            LinkState::Draining
        } else if !self.is_connected() {
            LinkState::Connecting
        } else if self.is_unresponsive() {
            LinkState::Unresponsive
        } else {
            LinkState::Connected
        }
    }

    /// Counts `n` messages received: anything at all proves the peer alive.
    pub(crate) fn received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
        if self.is_unresponsive() {
            self.unresponsive.store(false, Ordering::Relaxed);
        }
    }

    pub(crate) fn ended(&self, ending: Ending) {
        let counter = match ending {
            Ending::Ok => &self.ok,
            Ending::Error => &self.errors,
            Ending::Timeout { received_before } => {
                if self.received.load(Ordering::Relaxed) == received_before {
                    self.unresponsive.store(true, Ordering::Relaxed);
                }
                &self.timeouts
            }
            Ending::Other => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How a link sends.
enum Wire {
    Native(Arc<Outgoing>),
    Zmq(zmq_link::ZmqWire),
}

/// A plug's connection to one endpoint.
pub(crate) struct Link {
    endpoint: String,
    transport: Transport,
    pub(crate) health: Arc<Health>,
    wire: Wire,
    /// Stops the link's tasks; a child of the plug's own token.
    closed: CancellationToken,
}

/// Why [`Link::try_send`] did not send.
#[derive(Debug)]
pub(crate) enum TrySend {
    /// The queue is full now: the frames back, for [`Link::send`].
    Later(Frames),
    /// The link cannot take it.
    Failed(LinkError),
}

/// Why a link did not take a message.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// Not connected now (or closed): try another link, or wait.
    Down,
    /// The socket failed.
    Transport(TransportError),
}

impl Link {
    /// Opens a link to `endpoint` and starts its task, which hands every
    /// message it receives to `state`.
    pub(crate) fn open<S: Dispatch>(
        state: &Arc<S>,
        endpoint: String,
        changed: Arc<Notify>,
    ) -> Result<Arc<Link>, Error> {
        let conn = state.connection();
        let config = &conn.config;
        let curve = config.curve.is_some();
        let transport = config
            .transport
            .unwrap_or_else(|| Transport::choose(&endpoint, curve));
        let closed = conn.closed.child_token();
        let health = Arc::new(Health::new(changed));
        let link = match transport {
            Transport::Native => {
                let address = Address::native(&endpoint).ok_or_else(|| {
                    Error::Config(crate::ConfigError::new(
                        "connect_to",
                        format!("`{endpoint}` cannot be reached by the native transport"),
                    ))
                })?;
                let out = Arc::new(Outgoing::new(config.queue_limit(), false));
                let link = Arc::new(Link {
                    endpoint,
                    transport,
                    health,
                    wire: Wire::Native(out.clone()),
                    closed,
                });
                native::spawn(state.clone(), link.clone(), out, address);
                link
            }
            Transport::Libzmq => {
                let wire = zmq_link::ZmqWire::open(config, &endpoint, &health, &closed)?;
                let link = Arc::new(Link {
                    endpoint,
                    transport,
                    health,
                    wire: Wire::Zmq(wire),
                    closed,
                });
                zmq_link::spawn(state.clone(), link.clone());
                link
            }
        };
        Ok(link)
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends one message if the link takes it now, without waiting. A
    /// `lone` message (nothing else in flight on the link: a caller waits
    /// for its reply alone) is written by this task when the link has
    /// nothing queued, rather than handed to the link's task: one wake-up
    /// less on the way out. Other messages are queued, so that a burst
    /// leaves in few writes, and written by the sender that fills the
    /// queue to [`Link::write_at`].
    pub(crate) fn try_send(&self, frames: Frames, lone: bool) -> Result<(), TrySend> {
        match &self.wire {
            Wire::Native(out) => match if lone {
                out.try_push_now(frames)
            } else {
                out.try_push_or_write(frames, self.write_at())
            } {
                Ok(()) => Ok(()),
                Err((back, Refused::Full)) => Err(TrySend::Later(back)),
                Err((_, Refused::Closed)) => Err(TrySend::Failed(LinkError::Down)),
            },
            Wire::Zmq(wire) => match wire.socket().try_send(frames.into_vec()) {
                Ok(()) => Ok(()),
                Err((back, SendError::Full)) => Err(TrySend::Later(Frames::from_vec(back))),
                Err((_, e)) => Err(TrySend::Failed(e.into())),
            },
        }?;
        self.health.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many queued messages a sender writes itself: a quarter of what
    /// is in flight, from 8 to 64. The peer gets work while the callers
    /// still make more, and a write still carries enough to be worth its
    /// system call (at 256 in flight, 64 B, pinned: a sixteenth cost more
    /// CPU per request for less throughput; BENCHMARKS.md).
    fn write_at(&self) -> usize {
        let in_flight = self.health.in_flight.load(Ordering::Relaxed);
        usize::try_from(in_flight / 4).map_or(64, |n| n.clamp(8, 64))
    }

    /// Sends one message, waiting while the link's queue is full.
    pub(crate) async fn send(&self, frames: Frames) -> Result<(), LinkError> {
        match &self.wire {
            Wire::Native(out) => out.push(frames).await.map_err(|_| LinkError::Down),
            Wire::Zmq(wire) => wire
                .socket()
                .send(frames.into_vec())
                .await
                .map_err(|e| LinkError::Transport(TransportError::Send(e))),
        }?;
        self.health.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Marks the link as draining: no new requests go to it.
    pub(crate) fn drain(&self) {
        if !self.health.draining.swap(true, Ordering::Relaxed) {
            tracing::info!(
                endpoint = self.endpoint,
                "endpoint draining: no new requests"
            );
            self.health.changed.notify_waiters();
        }
    }

    /// Stops the link's tasks and closes its connection.
    pub(crate) fn close(&self) {
        self.closed.cancel();
    }

    pub(crate) fn stats(&self) -> EndpointStats {
        let h = &self.health;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        EndpointStats {
            endpoint: self.endpoint.clone(),
            transport: self.transport,
            state: h.state(),
            in_flight: get(&h.in_flight),
            sent: get(&h.sent),
            ok: get(&h.ok),
            errors: get(&h.errors),
            timeouts: get(&h.timeouts),
            disconnects: get(&h.disconnects),
        }
    }

    pub(crate) fn zmq_socket(&self) -> Option<&AsyncSocket> {
        match &self.wire {
            Wire::Zmq(w) => Some(w.socket()),
            Wire::Native(_) => None,
        }
    }
}

impl From<SendError> for LinkError {
    fn from(e: SendError) -> LinkError {
        LinkError::Transport(TransportError::Send(e))
    }
}

/// A request counted in its link's `in_flight` until dropped.
pub(crate) struct InFlight(pub(crate) Arc<Link>);

impl InFlight {
    pub(crate) fn new(link: Arc<Link>) -> InFlight {
        link.health.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(link)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.health.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Reports the connection state of a link (both kinds use it).
pub(crate) struct Presence<'a>(&'a Link);

impl<'a> Presence<'a> {
    pub(crate) fn up(link: &'a Link) -> Presence<'a> {
        link.health.set_connected(true);
        Presence(link)
    }
}

impl Drop for Presence<'_> {
    fn drop(&mut self) {
        self.0.health.set_connected(false);
    }
}
