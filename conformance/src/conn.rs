//! One connection of a case: a blocking libzmq socket whose every wait is
//! bounded, recording what it sends and receives in the case's trace.

use std::time::{Duration, Instant};

use crate::case::{fail, Ctx, Step, Verdict};
use crate::trace::Trace;

/// A client socket connected to the server under test.
pub(crate) struct Conn {
    sock: zmq::Socket,
    name: &'static str,
    trace: Trace,
    timeout: Duration,
}

impl Conn {
    /// Connects a socket of `kind` (DEALER or REQ) named `name` in the trace,
    /// with the run's CURVE settings if any.
    pub fn open(ctx: &Ctx, kind: zmq::SocketType, name: &'static str) -> Step<Conn> {
        Conn::open_with(ctx, kind, name, ctx.curve.as_ref())
    }

    /// Like [`Conn::open`] with the given CURVE settings (`None`: plain
    /// text), for the `curve.*` cases.
    pub fn open_with(
        ctx: &Ctx,
        kind: zmq::SocketType,
        name: &'static str,
        curve: Option<&plug::CurveClient>,
    ) -> Step<Conn> {
        let setup = || -> Result<zmq::Socket, String> {
            let sock = plug::socket::context()
                .socket(kind)
                .map_err(|e| e.to_string())?;
            sock.set_linger(0).map_err(|e| e.to_string())?;
            sock.set_sndtimeo(ctx.timeout.as_millis().try_into().unwrap_or(i32::MAX))
                .map_err(|e| e.to_string())?;
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
            trace: ctx.trace.clone(),
            timeout: ctx.timeout,
        })
    }

    /// The reply timeout of the run.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one message, waiting at most the reply timeout for room.
    pub fn send<F: AsRef<[u8]>>(&self, frames: &[F]) -> Step<()> {
        self.trace.sent(self.name, frames);
        let parts: Vec<&[u8]> = frames.iter().map(AsRef::as_ref).collect();
        let parts = if parts.is_empty() {
            vec![&b""[..]]
        } else {
            parts
        };
        self.sock.send_multipart(parts, 0).map_err(|e| {
            let actual = if e == zmq::Error::EAGAIN {
                format!(
                    "could not send within {} ms (server not reachable or not reading)",
                    self.timeout.as_millis()
                )
            } else {
                format!("libzmq error on send: {e}")
            };
            fail("the server accepts the message", actual)
        })
    }

    /// The next message, or `None` when nothing arrives within `wait`.
    pub fn recv_within(&self, wait: Duration) -> Step<Option<Vec<Vec<u8>>>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i64::try_from(left.as_millis()).unwrap_or(i64::MAX);
            match self.sock.poll(zmq::POLLIN, ms) {
                Ok(0) if left.is_zero() => return Ok(None),
                Ok(0) => continue,
                Ok(_) => break,
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(fail("a message", format!("libzmq error on poll: {e}"))),
            }
        }
        let frames = self
            .sock
            .recv_multipart(zmq::DONTWAIT)
            .map_err(|e| fail("a message", format!("libzmq error on receive: {e}")))?;
        self.trace.received(self.name, &frames);
        Ok(Some(frames))
    }

    /// The next message within the reply timeout; a failure naming
    /// `expected` otherwise.
    pub fn recv(&self, expected: &str) -> Step<Vec<Vec<u8>>> {
        match self.recv_within(self.timeout)? {
            Some(m) => Ok(m),
            None => Err(self.silence(expected)),
        }
    }

    /// The failure for "nothing came back".
    pub fn silence(&self, expected: &str) -> Verdict {
        fail(
            expected,
            format!("nothing received within {} ms", self.timeout.as_millis()),
        )
    }

    /// Notes a line in the trace.
    pub fn note(&self, text: impl Into<String>) {
        self.trace.note(text);
    }
}
