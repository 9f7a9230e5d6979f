//! Counters of a serving loop, so that nothing is dropped silently.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a serving loop did, returned when it stops.
///
/// Every message that did not get a reply is in one of the `dropped_*`
/// counters or in `notifications`, and was logged at `warn` level (except
/// notifications, which never get a reply).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Messages received.
    pub received: u64,
    /// Replies handed to libzmq (error replies included).
    pub replied: u64,
    /// Error replies among `replied`.
    pub error_replies: u64,
    /// Requests without an id, which get no reply (PROTOCOL.md §5.4).
    pub notifications: u64,
    /// Replies dropped because the peer was gone (`EHOSTUNREACH`).
    pub dropped_gone: u64,
    /// Replies dropped because the peer's queue stayed full for the whole
    /// send timeout (or, for a -32002 reply, was full when it was sent).
    pub dropped_full: u64,
    /// Raw messages dropped unanswered: larger than allowed, their peer
    /// does not read its replies and its queue is full, or the handler
    /// panicked on them.
    pub dropped_incoming: u64,
    /// Replies that libzmq refused for another reason.
    pub dropped_other: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "received {}, replied {} ({} errors), notifications {}, dropped: gone {}, full {}, incoming {}, other {}",
            self.received,
            self.replied,
            self.error_replies,
            self.notifications,
            self.dropped_gone,
            self.dropped_full,
            self.dropped_incoming,
            self.dropped_other
        )
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub received: AtomicU64,
    pub replied: AtomicU64,
    pub error_replies: AtomicU64,
    pub notifications: AtomicU64,
    pub dropped_gone: AtomicU64,
    pub dropped_full: AtomicU64,
    pub dropped_incoming: AtomicU64,
    pub dropped_other: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            received: get(&self.received),
            replied: get(&self.replied),
            error_replies: get(&self.error_replies),
            notifications: get(&self.notifications),
            dropped_gone: get(&self.dropped_gone),
            dropped_full: get(&self.dropped_full),
            dropped_incoming: get(&self.dropped_incoming),
            dropped_other: get(&self.dropped_other),
        }
    }
}
