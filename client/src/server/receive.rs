//! The libzmq loops' receive step: the next message from the ROUTER
//! socket, split into envelope and body.

use std::future::Future;
use std::pin::Pin;

use crate::protocol::Routed;
use crate::socket::AsyncSocket;

use super::stats::{bump, Counters};
use super::ServerError;

/// The next message, or `None` once `shutdown` completes.
pub(super) async fn receive(
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
