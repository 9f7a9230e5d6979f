//! The per-second series of a phase, merged from every connection's
//! buckets, and the latency histogram of the whole phase.
//!
//! A second is closed once every connection has handed over a later one
//! (each connection wakes at least once a second while it records), so
//! only a couple of per-second histograms are open at any time.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::tally::{new_histogram, Bucket, Counts};

/// One second of a run, as the JSON report holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Which run (1, 2, … with `--runs`).
    pub run: usize,
    /// Seconds since the run started: this covers `[t_s, t_s + span_s)`.
    pub t_s: u64,
    /// 1, or less for the run's last second.
    pub span_s: f64,
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Latency of that second's ok replies (none: no reply that second).
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

struct Open {
    counts: Counts,
    latency: Histogram<u64>,
}

/// Buckets coming in, seconds and the whole histogram going out.
pub(crate) struct Series {
    open: BTreeMap<u64, Open>,
    /// Per connection: every second before this one has been handed over.
    watermarks: Vec<u64>,
    closed: Vec<(u64, Counts, Option<u64>, Option<u64>)>,
    total: Histogram<u64>,
}

impl Series {
    pub fn new(connections: usize) -> Series {
        Series {
            open: BTreeMap::new(),
            watermarks: vec![0; connections],
            closed: Vec::new(),
            total: new_histogram(),
        }
    }

    pub fn add(&mut self, bucket: Bucket) {
        let open = self.open.entry(bucket.second).or_insert_with(|| Open {
            counts: Counts::default(),
            latency: new_histogram(),
        });
        open.counts.add(&bucket.counts);
        if let Some(h) = &bucket.latency {
            // Same bounds and precision: adding cannot fail.
            let _ = open.latency.add(h);
            let _ = self.total.add(h);
        }
        if let Some(w) = self.watermarks.get_mut(bucket.conn) {
            *w = (*w).max(bucket.second + 1);
        }
        let low = self.watermarks.iter().copied().min().unwrap_or(0);
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= low {
                break;
            }
            let (second, open) = entry.remove_entry();
            self.close(second, open);
        }
    }

    fn close(&mut self, second: u64, open: Open) {
        let (p50, p99) = if open.latency.is_empty() {
            (None, None)
        } else {
            (
                Some(open.latency.value_at_quantile(0.50)),
                Some(open.latency.value_at_quantile(0.99)),
            )
        };
        self.closed.push((second, open.counts, p50, p99));
    }

    /// Every latency recorded so far (the seconds handed over).
    pub fn total(&self) -> &Histogram<u64> {
        &self.total
    }

    /// The series of run `run` that lasted `duration_s`, every second from
    /// the first to the last (seconds with nothing are zeros), and the
    /// whole histogram.
    pub fn finish(mut self, run: usize, duration_s: f64) -> (Vec<Second>, Histogram<u64>) {
        while let Some((second, open)) = self.open.pop_first() {
            self.close(second, open);
        }
        let mut by_second: BTreeMap<u64, _> = BTreeMap::new();
        for (second, counts, p50, p99) in self.closed {
            by_second.insert(second, (counts, p50, p99));
        }
        let last = (duration_s.ceil() as u64)
            .saturating_sub(1)
            .max(by_second.keys().next_back().copied().unwrap_or(0));
        let series = (0..=last)
            .map(|t| {
                let (counts, p50, p99) = by_second.remove(&t).unwrap_or_default();
                Second {
                    run,
                    t_s: t,
                    span_s: (duration_s - t as f64).clamp(0.0, 1.0),
                    sent: counts.sent,
                    ok: counts.ok,
                    errors: counts.errors,
                    timeouts: counts.timeouts,
                    p50_us: p50,
                    p99_us: p99,
                }
            })
            .collect();
        (series, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(conn: usize, second: u64, ok: u64, latency: &[u64]) -> Bucket {
        let mut b = Bucket::new(conn, second);
        b.counts.ok = ok;
        b.counts.sent = ok;
        for &l in latency {
            b.record(l);
        }
        b
    }

    #[test]
    fn seconds_merge_across_connections_and_gaps_are_zeros() {
        let mut s = Series::new(2);
        s.add(bucket(0, 0, 2, &[100, 200]));
        s.add(bucket(1, 0, 1, &[300]));
        s.add(bucket(0, 1, 1, &[10]));
        assert_eq!(s.open.len(), 1, "second 0 is closed once both moved on");
        // Connection 1 skipped second 1 (it was asleep the whole second).
        s.add(bucket(1, 3, 0, &[]));
        s.add(bucket(0, 3, 1, &[1000]));
        let (series, total) = s.finish(1, 3.5);
        assert_eq!(series.len(), 4);
        assert_eq!(series[0].ok, 3);
        assert_eq!(series[0].p99_us, Some(300));
        assert_eq!(series[2].ok, 0);
        assert_eq!(series[2].p50_us, None);
        assert_eq!(series[3].span_s, 0.5);
        assert_eq!(total.len(), 5);
        assert_eq!(series.iter().map(|s| s.ok).sum::<u64>(), 5);
    }

    #[test]
    fn a_run_shorter_than_a_second_has_one_second() {
        let mut s = Series::new(1);
        s.add(bucket(0, 0, 1, &[5]));
        let (series, _) = s.finish(2, 0.25);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].run, 2);
        assert_eq!(series[0].span_s, 0.25);
    }
}
