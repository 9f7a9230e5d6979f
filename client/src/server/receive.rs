//! The serving loops' receiving step: the next message off the ROUTER
//! socket, counted and split into envelope and body (PROTOCOL.md §3.4).

use std::future::Future;
use std::pin::Pin;

use crate::protocol::Routed;
use crate::socket::AsyncSocket;

use super::stats::{bump, Counters};
use super::ServerError;

/// The next message, or `None` once `shutdown` completes. Shutdown wins
/// over a queued message, so a stopping loop takes nothing new.
pub(crate) async fn next_message(
    socket: &AsyncSocket,
    counters: &Counters,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) -> Result<Option<Routed>, ServerError> {
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => return Ok(None),
            m = socket.recv() => match m {
                Ok(frames) => {
                    bump(&counters.received);
                    return Ok(Some(Routed::split(frames, true)));
                }
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(ServerError::Recv(e)),
            },
        }
    }
}
