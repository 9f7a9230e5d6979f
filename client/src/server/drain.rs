//! After the shutdown signal: stop taking work, finish what is in flight,
//! and give plugs time to go elsewhere (PROTOCOL.md §8.5).
//!
//! An rpc server keeps reading while it drains and answers every new
//! request with -32003 ("shutting down; not run"), which tells a plug to
//! send it to another server and to send no more here. It stops once the
//! requests in flight are done and no request has come for [`QUIET`], or
//! once [`ServerConfig::drain_timeout`] has passed.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::protocol::Routed;
use crate::socket::AsyncSocket;

use super::stats::{bump, Counters};
use super::ServerConfig;

/// How long a draining server waits, once idle, for requests still on
/// their way; a plug stops sending within a round trip of its first
/// -32003.
pub(crate) const QUIET: Duration = Duration::from_millis(200);

/// Drains a libzmq rpc loop: `refuse` answers each request that arrives.
pub(super) async fn zmq(
    socket: &AsyncSocket,
    counters: &Counters,
    tracker: &TaskTracker,
    config: &ServerConfig,
    mut refuse: impl FnMut(Routed),
) {
    tracker.close();
    tracing::info!(
        in_flight = tracker.len(),
        "shutting down: refusing new requests (-32003), finishing those in flight"
    );
    let deadline = Instant::now() + config.drain_timeout;
    let mut last = Instant::now();
    let mut idle = tracker.is_empty();
    loop {
        tokio::select! {
            m = socket.recv() => match m {
                Ok(frames) => {
                    bump(&counters.received);
                    last = Instant::now();
                    refuse(Routed::split(frames, true));
                }
                Err(e) => {
                    tracing::warn!("receive failed while draining: {e}");
                    break;
                }
            },
            _ = tracker.wait(), if !idle => idle = true,
            _ = tokio::time::sleep_until(last + QUIET), if idle => break,
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!(
                    in_flight = tracker.len(),
                    "drain timeout of {:?} passed; stopping with requests unfinished",
                    config.drain_timeout
                );
                break;
            }
        }
    }
}
