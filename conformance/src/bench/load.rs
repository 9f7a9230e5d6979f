//! The two ways of generating load, as in wrk2 and ghz.
//!
//! - Closed loop: `window` workers per connection, each sending its next
//!   request as soon as the previous one ends. Latency is send to reply.
//! - Open loop: requests are due at a fixed rate whatever the server does;
//!   latency is measured from when a request was *due*, so a server that
//!   stalls shows every request it delayed (no coordinated omission).
//!
//! Every request that is counted as sent ends in exactly one of ok, error
//! or timeout, so `sent == ok + errors + timeouts` holds at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::client::{Client, Outcome};

/// When the run stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// After this many requests have been sent (and have ended).
    Requests(u64),
    /// No new request after this long; those in flight still end.
    Duration(Duration),
}

/// How load is generated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Load {
    /// `window` requests in flight on each connection, back to back.
    Closed { window: usize },
    /// `rate` requests per second in total, spread over the connections.
    Open { rate: f64 },
}

/// Counts shared by every worker while a run goes.
pub(crate) struct Tally {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub latency: Mutex<Histogram<u64>>,
    /// The first few distinct error messages, for the report.
    pub error_samples: Mutex<Vec<String>>,
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            sent: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            latency: Mutex::new(new_histogram()),
            error_samples: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn done(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
            + self.errors.load(Ordering::Relaxed)
            + self.timeouts.load(Ordering::Relaxed)
    }

    fn record(&self, outcome: Outcome, latency: Duration) {
        match outcome {
            Outcome::Ok => {
                let us = latency.as_micros().max(1) as u64;
                self.latency
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .saturating_record(us);
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Timeout => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Error(why) => {
                let mut samples = self.error_samples.lock().unwrap_or_else(|p| p.into_inner());
                if samples.len() < 5 && !samples.contains(&why) {
                    samples.push(why);
                }
                drop(samples);
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Runs the load on `clients` until `stop`; returns when every request
/// sent has ended.
pub(crate) async fn run(
    clients: &[Client],
    load: Load,
    stop: Stop,
    timeout: Duration,
    tally: Arc<Tally>,
) {
    match load {
        Load::Closed { window } => closed(clients, window, stop, timeout, tally).await,
        Load::Open { rate } => open(clients, rate, stop, timeout, tally).await,
    }
}

async fn closed(
    clients: &[Client],
    window: usize,
    stop: Stop,
    timeout: Duration,
    tally: Arc<Tally>,
) {
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for client in clients {
        for _ in 0..window.max(1) {
            let client = client.clone();
            let tally = tally.clone();
            workers.spawn(async move {
                loop {
                    let seq = match stop {
                        Stop::Requests(n) => {
                            let seq = tally.sent.fetch_add(1, Ordering::Relaxed);
                            if seq >= n {
                                tally.sent.fetch_sub(1, Ordering::Relaxed);
                                break;
                            }
                            seq
                        }
                        Stop::Duration(d) => {
                            if start.elapsed() >= d {
                                break;
                            }
                            tally.sent.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    let sent_at = Instant::now();
                    let outcome = client.call(seq, timeout).await;
                    tally.record(outcome, sent_at.elapsed());
                }
            });
        }
    }
    while workers.join_next().await.is_some() {}
}

async fn open(clients: &[Client], rate: f64, stop: Stop, timeout: Duration, tally: Arc<Tally>) {
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let mut requests = JoinSet::new();
    let mut next: u64 = 0;
    loop {
        let due = start + interval.mul_f64(next as f64);
        let more = match stop {
            Stop::Requests(n) => next < n,
            Stop::Duration(d) => due < start + d,
        };
        if !more {
            break;
        }
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        // Issue everything that is due now: the timer wakes late by up to a
        // millisecond, and a late wake-up must not lower the rate.
        let now = Instant::now();
        loop {
            let due = start + interval.mul_f64(next as f64);
            let more = match stop {
                Stop::Requests(n) => next < n,
                Stop::Duration(d) => due < start + d,
            };
            if !more || due > now {
                break;
            }
            let client = clients[next as usize % clients.len()].clone();
            let tally = tally.clone();
            let seq = next;
            tally.sent.fetch_add(1, Ordering::Relaxed);
            requests.spawn(async move {
                let outcome = client.call(seq, timeout).await;
                // From when it was due, not from when it went out.
                tally.record(outcome, due.elapsed());
            });
            next += 1;
        }
        // Reap finished requests so the set does not grow with the run.
        while requests.try_join_next().is_some() {}
    }
    while requests.join_next().await.is_some() {}
}
