//! The requests of one connection that have been sent and not yet ended.
//!
//! A connection numbers its requests 1, 2, 3, … and sends them in that
//! order, so the table is a queue indexed by sequence number: an entry is
//! the request's latency origin (when it was sent, or in an open loop when
//! it was due) and the oldest entry has the earliest deadline. Matching a
//! reply and expiring timeouts are O(1); a request that never gets its
//! reply holds the front until its deadline, which bounds the queue to the
//! requests sent within one timeout.

use std::collections::VecDeque;

/// An entry whose request has ended.
const ENDED: u64 = u64::MAX;

pub(crate) struct InFlight {
    /// Sequence number of `slots[0]`.
    base: u64,
    /// Latency origin in nanoseconds since the phase started, or `ENDED`.
    slots: VecDeque<u64>,
    /// Entries not `ENDED`.
    live: usize,
}

impl InFlight {
    /// An empty table whose next request is `next_seq`.
    pub fn new(next_seq: u64) -> InFlight {
        InFlight {
            base: next_seq,
            slots: VecDeque::new(),
            live: 0,
        }
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.live
    }

    /// The sequence number the next request must have.
    pub fn next_seq(&self) -> u64 {
        self.base + self.slots.len() as u64
    }

    /// Records request `next_seq()`, sent with latency origin `origin_ns`.
    pub fn push(&mut self, origin_ns: u64) {
        self.slots.push_back(origin_ns);
        self.live += 1;
    }

    /// Ends request `seq` if it is in flight; returns its latency origin.
    /// `None` for a request that already ended (a late or repeated reply) or
    /// was never sent.
    pub fn end(&mut self, seq: u64) -> Option<u64> {
        let index = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        let slot = self.slots.get_mut(index)?;
        if *slot == ENDED {
            return None;
        }
        let origin = std::mem::replace(slot, ENDED);
        self.live -= 1;
        self.trim();
        Some(origin)
    }

    /// Whether `seq` was sent by this table (in flight or ended).
    pub fn was_sent(&self, seq: u64) -> bool {
        seq < self.next_seq()
    }

    /// Ends, as timed out, every request whose origin is at or before
    /// `cutoff_ns`; returns how many.
    pub fn expire(&mut self, cutoff_ns: u64) -> u64 {
        let mut expired = 0;
        while let Some(&origin) = self.slots.front() {
            if origin > cutoff_ns {
                break;
            }
            self.pop();
            expired += 1;
            self.trim();
        }
        expired
    }

    /// The latency origin of the oldest request in flight.
    pub fn oldest(&self) -> Option<u64> {
        self.slots.front().copied()
    }

    /// Ends every request in flight; returns how many.
    pub fn abandon(&mut self) -> u64 {
        let n = self.live as u64;
        self.base = self.next_seq();
        self.slots.clear();
        self.live = 0;
        n
    }

    fn pop(&mut self) {
        self.slots.pop_front();
        self.base += 1;
        self.live -= 1;
    }

    /// Drops ended entries from the front, so the front is in flight.
    fn trim(&mut self) {
        while self.slots.front() == Some(&ENDED) {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_in_any_order_end_their_requests_once() {
        let mut t = InFlight::new(1);
        for origin in [10, 20, 30] {
            t.push(origin);
        }
        assert_eq!(t.next_seq(), 4);
        assert_eq!(t.end(2), Some(20));
        assert_eq!(t.end(2), None, "a repeated reply");
        assert_eq!(t.oldest(), Some(10));
        assert_eq!(t.end(1), Some(10));
        assert_eq!(t.oldest(), Some(30), "ended entries leave the front");
        assert_eq!(t.len(), 1);
        assert_eq!(t.end(9), None, "never sent");
        assert_eq!(t.end(0), None, "before the first");
        assert!(t.was_sent(2) && !t.was_sent(4));
    }

    #[test]
    fn the_oldest_requests_time_out_first() {
        let mut t = InFlight::new(1);
        for origin in [10, 20, 30, 40] {
            t.push(origin);
        }
        assert_eq!(t.end(2), Some(20));
        assert_eq!(t.expire(25), 1, "request 1; request 2 had ended");
        assert_eq!(t.oldest(), Some(30));
        assert_eq!(t.end(1), None, "a late reply");
        assert_eq!(t.expire(100), 2);
        assert_eq!(t.len(), 0);
        assert_eq!(t.oldest(), None);
        assert_eq!(t.next_seq(), 5);
    }

    #[test]
    fn abandon_ends_everything() {
        let mut t = InFlight::new(7);
        t.push(1);
        t.push(2);
        assert_eq!(t.abandon(), 2);
        assert_eq!(t.len(), 0);
        assert_eq!(t.next_seq(), 9);
        assert_eq!(t.end(7), None);
    }
}
