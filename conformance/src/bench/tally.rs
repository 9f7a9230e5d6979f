//! What a connection counts: its totals ([`Counts`]), the figures it
//! publishes while it runs ([`Live`], read for the progress line and to tell
//! a vanished server), and the per-second slices it hands over
//! ([`Bucket`]).
//!
//! Every request sent ends in exactly one of ok, error or timeout, so
//! `sent == ok + errors + timeouts` once the connection has stopped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hdrhistogram::Histogram;

/// A latency histogram: 1 µs to 1 hour, 3 significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// The totals of a connection, a phase or a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Counts {
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Of `errors`: requests in flight when the run was stopped early
    /// (server gone, interrupted twice).
    pub abandoned: u64,
    /// Replies to requests that had already timed out (not requests: they
    /// are outside `sent == ok + errors + timeouts`).
    pub late: u64,
    /// Replies that match no request this connection sent.
    pub unmatched: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.errors += other.errors;
        self.timeouts += other.timeouts;
        self.abandoned += other.abandoned;
        self.late += other.late;
        self.unmatched += other.unmatched;
    }

    /// Requests that have ended.
    pub fn ended(&self) -> u64 {
        self.ok + self.errors + self.timeouts
    }
}

/// What a running connection publishes; written by its thread only.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Live {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    /// When anything last arrived from the server, in nanoseconds since the
    /// phase started, plus one (0: nothing yet).
    pub heard: AtomicU64,
    /// Timeouts since anything last arrived.
    pub streak: AtomicU64,
    /// libzmq's monitor says the connection is up.
    pub connected: AtomicBool,
}

impl Live {
    pub fn publish(&self, c: &Counts, streak: u64) {
        self.sent.store(c.sent, Ordering::Relaxed);
        self.ok.store(c.ok, Ordering::Relaxed);
        self.errors.store(c.errors, Ordering::Relaxed);
        self.timeouts.store(c.timeouts, Ordering::Relaxed);
        self.streak.store(streak, Ordering::Relaxed);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            sent: self.sent.load(Ordering::Relaxed),
            ok: self.ok.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            ..Counts::default()
        }
    }

    /// Nanoseconds since the phase started when the server was last heard.
    pub fn heard_ns(&self) -> Option<u64> {
        self.heard.load(Ordering::Relaxed).checked_sub(1)
    }
}

/// One connection's events of one second of a phase.
pub(crate) struct Bucket {
    pub conn: usize,
    /// Seconds since the phase started: this covers `[second, second + 1)`.
    pub second: u64,
    pub counts: Counts,
    /// Latency of the ok replies, when there were any.
    pub latency: Option<Histogram<u64>>,
}

impl Bucket {
    pub fn new(conn: usize, second: u64) -> Bucket {
        Bucket {
            conn,
            second,
            counts: Counts::default(),
            latency: None,
        }
    }

    pub fn record(&mut self, latency_us: u64) {
        self.latency
            .get_or_insert_with(new_histogram)
            .saturating_record(latency_us.max(1));
    }
}
