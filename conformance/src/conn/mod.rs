//! One connection of a case, on either transport of the run: a DEALER or
//! REQ client whose every wait is bounded, recording what it sends and
//! receives in the case's trace, and the server's socket type.
//!
//! - `libzmq`: a blocking libzmq socket (the reference judge); the
//!   server's socket type comes from each message's ZMTP metadata.
//! - `native`: ZMTP spoken by `plug-zmtp` on a runtime the connection owns;
//!   the socket type comes from the handshake.
//!
//! The cases see one API: what they send and receive, in the same
//! envelopes, with the same meaning of each option.

mod libzmq;
pub(crate) mod native;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use plug::transport::Transport;

use crate::case::{fail, Ctx, SocketKind, Step, Verdict};
use crate::trace::Trace;

/// Socket options a case may ask for beyond the defaults.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// The identity the server's ROUTER sees (`ZMQ_ROUTING_ID`; natively the
    /// `Identity` of READY).
    pub routing_id: Option<Vec<u8>>,
    /// The kernel receive buffer in bytes (`SO_RCVBUF`).
    pub rcvbuf: Option<i32>,
    /// Messages the connection takes off the wire while the case does not
    /// receive (`ZMQ_RCVHWM`; natively the bound of the read-ahead queue).
    pub rcvhwm: Option<i32>,
}

/// A message received, and the `Socket-Type` it told (if any).
pub(super) struct Received {
    frames: Vec<Vec<u8>>,
    socket_type: Option<String>,
}

/// Why a send or a receive failed, kept apart for the report.
#[derive(Debug)]
pub(super) enum Failure {
    /// No room to send within the reply timeout.
    Timeout,
    /// The transport failed (libzmq's error, or the connection could not be
    /// made again).
    Transport(String),
    /// Something the socket type does not allow (a second request on REQ).
    State(String),
}

enum Backend {
    Libzmq(libzmq::Socket),
    /// Boxed: a runtime and buffers, much larger than a libzmq handle.
    Native(Box<native::Socket>),
}

/// A client socket connected to the server under test.
pub(crate) struct Conn {
    backend: Backend,
    pub name: &'static str,
    pub kind: zmq::SocketType,
    trace: Trace,
    timeout: Duration,
    /// The server's `Socket-Type`.
    peer_type: RefCell<Option<String>>,
    received: Cell<u64>,
}

impl Conn {
    /// Connects a socket of `kind` (DEALER or REQ) named `name` in the trace,
    /// with the run's CURVE settings if any.
    pub fn open(ctx: &Ctx, kind: zmq::SocketType, name: &'static str) -> Step<Conn> {
        Conn::open_with(ctx, kind, name, ctx.curve.as_ref(), &Options::default())
    }

    /// Like [`Conn::open`] with the given CURVE settings (`None`: plain
    /// text) and options.
    pub fn open_with(
        ctx: &Ctx,
        kind: zmq::SocketType,
        name: &'static str,
        curve: Option<&plug::CurveClient>,
        options: &Options,
    ) -> Step<Conn> {
        let backend = match ctx.transport {
            Transport::Native if curve.is_some() => {
                Err("the native transport has no CURVE: use --transport libzmq".to_owned())
            }
            Transport::Native => native::Socket::open(
                &ctx.endpoint,
                kind,
                ctx.timeout,
                options,
                ctx.trace.clone(),
                name,
            )
            .map(|s| Backend::Native(Box::new(s))),
            // A server not known to be a ROUTER may be a DEALER (2.1-c),
            // which would send its next reply to a connection the harness
            // closed but libzmq has not yet: each is closed when it drops.
            _ => libzmq::Socket::open(
                &ctx.endpoint,
                kind,
                ctx.timeout,
                curve,
                options,
                ctx.server.socket != SocketKind::Router,
            )
            .map(Backend::Libzmq),
        };
        let backend = backend.map_err(|e| {
            fail(
                format!("a connection to {}", ctx.endpoint),
                format!("cannot open the connection: {e}"),
            )
        })?;
        let peer_type = match &backend {
            Backend::Native(s) => Some(s.peer_type().to_owned()),
            Backend::Libzmq(_) => None,
        };
        Ok(Conn {
            backend,
            name,
            kind,
            trace: ctx.trace.clone(),
            timeout: ctx.timeout,
            peer_type: RefCell::new(peer_type),
            received: Cell::new(0),
        })
    }

    /// The reply timeout of the run.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one message, waiting at most the reply timeout for room.
    pub fn send<F: AsRef<[u8]>>(&self, frames: &[F]) -> Step<()> {
        self.send_with(frames, true)
            .and_then(|sent| if sent { Ok(()) } else { Err(Failure::Timeout) })
            .map_err(|e| self.send_failure(e))
    }

    /// Sends one message if there is room now: `Ok(false)` when the
    /// socket's queue (libzmq) or the kernel's send buffer (native) is full
    /// (the server is not reading).
    pub fn try_send<F: AsRef<[u8]>>(&self, frames: &[F]) -> Step<bool> {
        self.send_with(frames, false)
            .map_err(|e| self.send_failure(e))
    }

    fn send_with<F: AsRef<[u8]>>(&self, frames: &[F], wait: bool) -> Result<bool, Failure> {
        let parts: Vec<&[u8]> = frames.iter().map(AsRef::as_ref).collect();
        let parts = if parts.is_empty() {
            vec![&b""[..]]
        } else {
            parts
        };
        let sent = match &self.backend {
            Backend::Libzmq(s) => s.send(&parts, wait)?,
            Backend::Native(s) => s.send(&parts, wait)?,
        };
        if sent {
            self.trace.sent(self.name, frames);
        }
        Ok(sent)
    }

    fn send_failure(&self, e: Failure) -> Verdict {
        let actual = match e {
            Failure::Timeout => format!(
                "could not send within {} ms (the server is not reading)",
                self.timeout.as_millis()
            ),
            Failure::Transport(e) | Failure::State(e) => e,
        };
        fail("the server accepts the message", actual)
    }

    /// The next message, or `None` when nothing arrives within `wait`.
    pub fn recv_within(&self, wait: Duration) -> Step<Option<Vec<Vec<u8>>>> {
        let got = match &self.backend {
            Backend::Libzmq(s) => s.recv(wait),
            Backend::Native(s) => s.recv(wait),
        };
        let got = got.map_err(|e| {
            let actual = match e {
                Failure::Timeout => format!("nothing within {} ms", wait.as_millis()),
                Failure::Transport(e) | Failure::State(e) => e,
            };
            fail("a message", actual)
        })?;
        let Some(Received {
            frames,
            socket_type,
        }) = got
        else {
            return Ok(None);
        };
        if let Some(t) = socket_type {
            *self.peer_type.borrow_mut() = Some(t);
        }
        self.trace.received(self.name, &frames);
        self.received.set(self.received.get() + 1);
        Ok(Some(frames))
    }

    /// Messages received so far.
    pub fn received(&self) -> u64 {
        self.received.get()
    }

    /// The server's socket type: from the handshake (native), or once a
    /// message has come back (libzmq).
    pub fn peer_type(&self) -> Option<String> {
        self.peer_type.borrow().clone()
    }

    /// Notes a line in the trace.
    pub fn note(&self, text: impl Into<String>) {
        self.trace.note(text);
    }
}
