//! The libzmq backend of [`Conn`](super::Conn): a blocking DEALER or REQ
//! socket. libzmq connects lazily and reconnects by itself; the REQ socket
//! adds and strips the empty delimiter and drops a reply without one.

use std::time::{Duration, Instant};

use super::{Failure, Options, Received};

pub(super) struct Socket {
    sock: zmq::Socket,
}

impl Socket {
    /// Connects a socket of `kind` to `endpoint`. With `closes_at_drop`,
    /// the socket lives in a context of its own, terminated when it drops:
    /// the connection is closed by the time the drop returns, not later on
    /// libzmq's threads.
    pub fn open(
        endpoint: &str,
        kind: zmq::SocketType,
        timeout: Duration,
        curve: Option<&plug::CurveClient>,
        options: &Options,
        closes_at_drop: bool,
    ) -> Result<Socket, String> {
        let e = |e: zmq::Error| e.to_string();
        // The socket holds the only handle of its own context.
        let sock = if closes_at_drop {
            zmq::Context::new().socket(kind)
        } else {
            plug::socket::context().socket(kind)
        }
        .map_err(e)?;
        sock.set_linger(0).map_err(e)?;
        sock.set_sndtimeo(timeout.as_millis().try_into().unwrap_or(i32::MAX))
            .map_err(e)?;
        if let Some(id) = &options.routing_id {
            sock.set_identity(id).map_err(e)?;
        }
        if let Some(n) = options.rcvbuf {
            sock.set_rcvbuf(n).map_err(e)?;
        }
        if let Some(n) = options.rcvhwm {
            sock.set_rcvhwm(n).map_err(e)?;
        }
        if let Some(curve) = curve {
            curve.apply(&sock).map_err(|e| e.to_string())?;
        }
        sock.connect(endpoint).map_err(e)?;
        Ok(Socket { sock })
    }

    /// Sends one message; `Ok(false)` when `wait` is false and the queue is
    /// full, `Err(Failure::Timeout)` when the send timeout passed.
    pub fn send(&self, frames: &[&[u8]], wait: bool) -> Result<bool, Failure> {
        let flags = if wait { 0 } else { zmq::DONTWAIT };
        match self.sock.send_multipart(frames, flags) {
            Ok(()) => Ok(true),
            Err(zmq::Error::EAGAIN) if !wait => Ok(false),
            Err(zmq::Error::EAGAIN) => Err(Failure::Timeout),
            Err(e) => Err(Failure::Transport(format!("libzmq error on send: {e}"))),
        }
    }

    /// The next message within `wait`, with the `Socket-Type` of its
    /// metadata.
    pub fn recv(&self, wait: Duration) -> Result<Option<Received>, Failure> {
        let err =
            |what: &str, e: zmq::Error| Failure::Transport(format!("libzmq error on {what}: {e}"));
        let deadline = Instant::now() + wait;
        let mut first = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i64::try_from(left.as_millis()).unwrap_or(i64::MAX);
            match self.sock.poll(zmq::POLLIN, ms) {
                Ok(0) if left.is_zero() => return Ok(None),
                Ok(0) => continue,
                Ok(_) => {}
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(err("poll", e)),
            }
            let mut msg = zmq::Message::new();
            match self.sock.recv(&mut msg, zmq::DONTWAIT) {
                Ok(()) => break msg,
                // A REQ socket drops a message without the delimiter (and
                // says EAGAIN): nothing for us yet.
                Err(zmq::Error::EAGAIN) if left.is_zero() => return Ok(None),
                Err(zmq::Error::EAGAIN) => continue,
                Err(e) => return Err(err("receive", e)),
            }
        };
        let socket_type = first.gets("Socket-Type").map(str::to_owned);
        let mut more = first.get_more();
        let mut frames = vec![first.to_vec()];
        while more {
            let mut msg = zmq::Message::new();
            self.sock
                .recv(&mut msg, zmq::DONTWAIT)
                .map_err(|e| err("receive", e))?;
            more = msg.get_more();
            frames.push(msg.to_vec());
        }
        Ok(Some(Received {
            frames,
            socket_type,
        }))
    }
}
