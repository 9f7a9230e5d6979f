//! Before a run: wait until the server answers a request of the kind the
//! run will send, so a server that is not there (yet) is told before
//! anything is measured. The answer is not judged: a server that answers
//! wrongly is measured, and its wrong answers are counted as errors.

use std::time::{Duration, Instant};

use super::control::Interrupts;
use super::wire::Wire;

/// How often an unanswered probe is sent again.
const RESEND: Duration = Duration::from_millis(250);

/// Why the server is not ready.
#[derive(Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Unready {
    #[error("no answer within {0}")]
    Silent(String),
    #[error("the server exited before answering: {0}")]
    Exited(String),
    #[error("interrupted while waiting for the server")]
    Interrupted,
    #[error("libzmq: {0}")]
    Zmq(#[from] zmq::Error),
}

/// Sends a probe every 250 ms until one is answered, for at most `limit`.
pub(crate) fn wait(
    ctx: &zmq::Context,
    endpoint: &str,
    wire: &Wire,
    limit: Duration,
    exited: &mut dyn FnMut() -> Option<String>,
    interrupts: &Interrupts,
) -> Result<(), Unready> {
    let sock = ctx.socket(zmq::DEALER)?;
    sock.set_linger(0)?;
    sock.connect(endpoint)?;
    let deadline = Instant::now() + limit;
    let signals = interrupts.count();
    // Replies come back to this socket only, so the run's own numbering
    // (on other sockets) cannot meet these.
    let mut seq = 1;
    loop {
        if let Some(status) = exited() {
            return Err(Unready::Exited(status));
        }
        if interrupts.count() > signals {
            return Err(Unready::Interrupted);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Unready::Silent(super::text::duration(limit)));
        }
        sock.send(wire.request(seq), zmq::DONTWAIT)?;
        seq += 1;
        let until = (now + RESEND).min(deadline);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let ms = i64::try_from(left.as_millis()).unwrap_or(i64::MAX);
            match sock.poll(zmq::POLLIN, ms) {
                Ok(0) if left.is_zero() => break,
                Ok(0) | Err(zmq::Error::EINTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
            // Any answer: the server is there.
            sock.recv_multipart(zmq::DONTWAIT)?;
            return Ok(());
        }
    }
}
