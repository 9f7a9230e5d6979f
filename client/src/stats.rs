//! [`PlugStats`]: counters that show a plug's health.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a plug's counters since it was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PlugStats {
    /// Messages or requests put on the wire.
    pub sent: u64,
    /// Replies matched to a pending request (success and error replies).
    pub replies: u64,
    /// Requests that ended in a timeout.
    pub timeouts: u64,
    /// Messages handed to the message handler (raw messages, pushes,
    /// unknown ids, invalid replies).
    pub unmatched: u64,
    /// Messages dropped because no handler was attached and the inbox was full.
    pub dropped: u64,
    /// Requests waiting for their reply now.
    pub in_flight: u64,
    /// Resends of idempotent requests.
    pub retries: u64,
    /// Endpoints connected now (from libzmq's socket monitor).
    pub connected: u64,
    /// Endpoints that take requests: those configured, or those discovery
    /// lists now (one leaving is in `per_endpoint` only).
    pub endpoints: u64,
    /// Connections lost since the plug opened.
    pub disconnects: u64,
    /// Each endpoint's state and counters, in the order the plug knows them;
    /// an endpoint discovery no longer lists stays here, `draining`, until its
    /// requests have ended and its link is closed.
    pub per_endpoint: Vec<crate::EndpointStats>,
    /// Each `dns+tcp://` name's discovered endpoints and lookup counters.
    pub discovery: Vec<crate::DiscoveryStats>,
}

impl PlugStats {
    /// Whether at least one endpoint is connected.
    pub fn is_connected(&self) -> bool {
        self.connected > 0
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) replies: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, dropped: u64, in_flight: u64) -> PlugStats {
        PlugStats {
            sent: self.sent.load(Ordering::Relaxed),
            replies: self.replies.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            unmatched: self.unmatched.load(Ordering::Relaxed),
            dropped,
            in_flight,
            retries: self.retries.load(Ordering::Relaxed),
            connected: 0,
            endpoints: 0,
            disconnects: 0,
            per_endpoint: Vec::new(),
            discovery: Vec::new(),
        }
    }
}
