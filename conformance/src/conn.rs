//! One connection of a case: a blocking libzmq socket whose every wait is
//! bounded, recording what it sends and receives in the case's trace, and
//! the server's socket type from each message's ZMTP metadata.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crate::case::{fail, Ctx, Step, Verdict};
use crate::trace::Trace;

/// Socket options a case may ask for beyond the defaults.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// `ZMQ_ROUTING_ID`: the identity the server's ROUTER sees.
    pub routing_id: Option<Vec<u8>>,
    /// `ZMQ_RCVBUF` (kernel receive buffer) in bytes.
    pub rcvbuf: Option<i32>,
    /// `ZMQ_RCVHWM` in messages.
    pub rcvhwm: Option<i32>,
}

/// A client socket connected to the server under test.
pub(crate) struct Conn {
    sock: zmq::Socket,
    pub name: &'static str,
    pub kind: zmq::SocketType,
    trace: Trace,
    timeout: Duration,
    /// The `Socket-Type` of the last message received.
    peer_type: RefCell<Option<String>>,
    received: std::cell::Cell<u64>,
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
        let setup = || -> Result<zmq::Socket, String> {
            let sock = plug::socket::context()
                .socket(kind)
                .map_err(|e| e.to_string())?;
            sock.set_linger(0).map_err(|e| e.to_string())?;
            sock.set_sndtimeo(millis_i32(ctx.timeout))
                .map_err(|e| e.to_string())?;
            if let Some(id) = &options.routing_id {
                sock.set_identity(id).map_err(|e| e.to_string())?;
            }
            if let Some(n) = options.rcvbuf {
                sock.set_rcvbuf(n).map_err(|e| e.to_string())?;
            }
            if let Some(n) = options.rcvhwm {
                sock.set_rcvhwm(n).map_err(|e| e.to_string())?;
            }
            if let Some(curve) = curve {
                curve.apply(&sock).map_err(|e| e.to_string())?;
            }
            sock.connect(&ctx.endpoint).map_err(|e| e.to_string())?;
            Ok(sock)
        };
        let sock = setup().map_err(|e| {
            fail(
                format!("a connection to {}", ctx.endpoint),
                format!("cannot open the connection: {e}"),
            )
        })?;
        Ok(Conn {
            sock,
            name,
            kind,
            trace: ctx.trace.clone(),
            timeout: ctx.timeout,
            peer_type: RefCell::new(None),
            received: std::cell::Cell::new(0),
        })
    }

    /// The reply timeout of the run.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one message, waiting at most the reply timeout for room.
    pub fn send<F: AsRef<[u8]>>(&self, frames: &[F]) -> Step<()> {
        self.send_flags(frames, 0).map_err(|e| self.send_failure(e))
    }

    /// Sends one message if there is room now: `Ok(false)` when the
    /// socket's queue is full (the server is not reading).
    pub fn try_send<F: AsRef<[u8]>>(&self, frames: &[F]) -> Step<bool> {
        match self.send_flags(frames, zmq::DONTWAIT) {
            Ok(()) => Ok(true),
            Err(zmq::Error::EAGAIN) => Ok(false),
            Err(e) => Err(self.send_failure(e)),
        }
    }

    fn send_flags<F: AsRef<[u8]>>(&self, frames: &[F], flags: i32) -> Result<(), zmq::Error> {
        let parts: Vec<&[u8]> = frames.iter().map(AsRef::as_ref).collect();
        let parts = if parts.is_empty() {
            vec![&b""[..]]
        } else {
            parts
        };
        self.sock.send_multipart(parts, flags)?;
        self.trace.sent(self.name, frames);
        Ok(())
    }

    fn send_failure(&self, e: zmq::Error) -> Verdict {
        let actual = if e == zmq::Error::EAGAIN {
            format!(
                "could not send within {} ms (the server is not reading)",
                self.timeout.as_millis()
            )
        } else {
            format!("libzmq error on send: {e}")
        };
        fail("the server accepts the message", actual)
    }

    /// The next message, or `None` when nothing arrives within `wait`.
    pub fn recv_within(&self, wait: Duration) -> Step<Option<Vec<Vec<u8>>>> {
        let deadline = Instant::now() + wait;
        let mut first = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i64::try_from(left.as_millis()).unwrap_or(i64::MAX);
            match self.sock.poll(zmq::POLLIN, ms) {
                Ok(0) if left.is_zero() => return Ok(None),
                Ok(0) => continue,
                Ok(_) => {}
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(fail("a message", format!("libzmq error on poll: {e}"))),
            }
            let mut msg = zmq::Message::new();
            match self.sock.recv(&mut msg, zmq::DONTWAIT) {
                Ok(()) => break msg,
                // A REQ socket drops a message without the delimiter (and
                // says EAGAIN): nothing for us yet.
                Err(zmq::Error::EAGAIN) if left.is_zero() => return Ok(None),
                Err(zmq::Error::EAGAIN) => continue,
                Err(e) => return Err(fail("a message", format!("libzmq error on receive: {e}"))),
            }
        };
        if let Some(t) = first.gets("Socket-Type") {
            *self.peer_type.borrow_mut() = Some(t.to_owned());
        }
        let mut more = first.get_more();
        let mut frames = vec![first.to_vec()];
        while more {
            let mut msg = zmq::Message::new();
            self.sock
                .recv(&mut msg, zmq::DONTWAIT)
                .map_err(|e| fail("a message", format!("libzmq error on receive: {e}")))?;
            more = msg.get_more();
            frames.push(msg.to_vec());
        }
        self.trace.received(self.name, &frames);
        self.received.set(self.received.get() + 1);
        Ok(Some(frames))
    }

    /// Messages received so far.
    pub fn received(&self) -> u64 {
        self.received.get()
    }

    /// The server's socket type, once a message has come back.
    pub fn peer_type(&self) -> Option<String> {
        self.peer_type.borrow().clone()
    }

    /// Notes a line in the trace.
    pub fn note(&self, text: impl Into<String>) {
        self.trace.note(text);
    }
}

fn millis_i32(d: Duration) -> i32 {
    d.as_millis().try_into().unwrap_or(i32::MAX)
}
