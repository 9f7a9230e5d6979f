//! What a benchmark measured: the JSON written by `--json` and read back by
//! `--baseline` and `compare`. Printing it is `text.rs`, drawing it
//! `html.rs`.
//!
//! With `--runs N` the top-level counts are totals over the runs, the
//! figures (throughput, latency, CPU) are the runs' medians, `runs` holds
//! each run and `spread` the median, minimum and maximum of each figure.

use std::path::Path;

use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize};

use super::phase::{Ending, PhaseResult};
use super::series::Second;
use super::tally::new_histogram;
use crate::case::Profile;

/// Latency percentiles of the ok replies, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// What the run was asked to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub endpoint: String,
    #[serde(deserialize_with = "profile")]
    pub profile: Profile,
    /// `closed` or `open`.
    pub mode: String,
    pub concurrency: usize,
    /// Requests in flight per connection (closed loop).
    pub window: Option<usize>,
    /// Requests per second asked for (open loop).
    pub rate: Option<f64>,
    /// Payload bytes per request: the `params` string (rpc) or the
    /// message (raw).
    pub size: usize,
    pub timeout_ms: u64,
    /// `--requests`, when the run was a number of requests.
    pub requests: Option<u64>,
    /// `--duration-ms`, when the run was a length of time.
    pub duration_ms: Option<u64>,
    pub warmup_ms: u64,
}

fn profile<'de, D: Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
    let text = String::deserialize(d)?;
    <Profile as clap::ValueEnum>::from_str(&text, false).map_err(serde::de::Error::custom)
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopInfo {
    /// `completed`, `server gone` or `interrupted`.
    pub reason: String,
    /// Seconds into the run when it was stopped early.
    pub at_s: Option<f64>,
    /// How the server was seen to be gone, or which signal arrived.
    pub detail: Option<String>,
}

impl StopInfo {
    pub fn completed(&self) -> bool {
        self.reason == "completed"
    }

    /// The signal, for an interrupted run.
    pub fn signal(&self) -> Option<i32> {
        match (self.reason.as_str(), self.detail.as_deref()) {
            ("interrupted", Some(d)) if d.starts_with("SIGTERM") => Some(libc::SIGTERM),
            ("interrupted", _) => Some(libc::SIGINT),
            _ => None,
        }
    }

    fn of(ending: &Ending) -> StopInfo {
        match ending {
            Ending::Completed => StopInfo {
                reason: "completed".into(),
                at_s: None,
                detail: None,
            },
            Ending::Gone { at, why } => StopInfo {
                reason: "server gone".into(),
                at_s: Some(at.as_secs_f64()),
                detail: Some(why.clone()),
            },
            Ending::Interrupted { at, signal, forced } => {
                let name = if *signal == libc::SIGTERM {
                    "SIGTERM"
                } else {
                    "SIGINT"
                };
                StopInfo {
                    reason: "interrupted".into(),
                    at_s: Some(at.as_secs_f64()),
                    detail: Some(if *forced {
                        format!("{name}, then again: the requests in flight were abandoned")
                    } else {
                        name.to_owned()
                    }),
                }
            }
        }
    }
}

/// The client's own CPU over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCpu {
    /// User plus system time of the whole process.
    pub cpu_s: f64,
    /// `cpu_s` per request sent, in microseconds.
    pub per_request_us: f64,
    /// The busiest thread (a connection thread, libzmq's I/O thread, ...).
    pub busiest_thread: Option<String>,
    /// Its share of one core, 0 to 1.
    pub busiest_share: f64,
}

/// The figures of one run (or, at the top level, of all of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub stop: StopInfo,
    pub requests_sent: u64,
    pub replies_ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Of `errors`: requests in flight when the run was stopped early.
    pub abandoned: u64,
    /// Replies that came after their request had timed out.
    pub late_replies: u64,
    /// Replies that matched no request sent.
    pub unmatched_replies: u64,
    /// From the first request sent to the last one ended.
    pub duration_s: f64,
    /// Ok round trips per second.
    pub throughput_msgs_per_s: f64,
    /// Payload megabytes (10^6 bytes) echoed back per second.
    pub throughput_mb_per_s: f64,
    /// Of the ok round trips (open loop: from when each was due).
    pub latency_us: Latency,
    pub client_cpu: ClientCpu,
}

/// The median, lowest and highest value of a figure over the runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Range {
    /// `None` for no values. The median of an even count is the mean of
    /// the middle two.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Range> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len().is_multiple_of(2) {
            (v[mid - 1] + v[mid]) / 2.0
        } else {
            v[mid]
        };
        Some(Range {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    /// Whether the two ranges overlap: then a change between them may be
    /// noise.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.min <= other.max && other.min <= self.max
    }
}

/// Each figure's range over the runs (`--runs` above 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub throughput_msgs_per_s: Range,
    pub p50_us: Range,
    pub p90_us: Range,
    pub p99_us: Range,
    pub p999_us: Range,
    pub max_us: Range,
    pub cpu_per_request_us: Range,
}

/// The latency histogram: HdrHistogram buckets, each the highest value it
/// holds and its count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    pub unit: String,
    pub significant_figures: u8,
    /// `[value, count]`, values increasing.
    pub buckets: Vec<[u64; 2]>,
}

impl Buckets {
    fn of(h: &Histogram<u64>) -> Buckets {
        Buckets {
            unit: "us".into(),
            significant_figures: h.sigfig(),
            buckets: h
                .iter_recorded()
                .map(|v| {
                    [
                        h.highest_equivalent(v.value_iterated_to()),
                        v.count_at_value(),
                    ]
                })
                .collect(),
        }
    }

    /// The histogram again (for a report read from a file).
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for [value, count] in &self.buckets {
            h.saturating_record_n(*value, *count);
        }
        h
    }
}

/// One `plug-conformance bench`. `requests_sent == replies_ok + errors +
/// timeouts` always holds, in every run and in the totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub tool: String,
    pub version: String,
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(flatten)]
    pub figures: Figures,
    /// Warnings that the figures may measure something else than the
    /// server: a rate not reached, a client thread near 100% of a core.
    pub saturation: Vec<String>,
    /// A few distinct error messages, to say what went wrong.
    pub error_samples: Vec<String>,
    pub runs: Vec<Figures>,
    pub spread: Option<Spread>,
    /// Every second of every run.
    pub series: Vec<Second>,
    pub histogram: Buckets,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a plug-conformance bench report: {source}")]
    Format {
        path: String,
        source: serde_json::Error,
    },
}

impl Figures {
    pub(crate) fn of(phase: &PhaseResult, size: usize) -> Figures {
        let c = &phase.counts;
        let secs = phase.duration.as_secs_f64().max(1e-9);
        let cpu_s = phase.cpu.as_secs_f64();
        Figures {
            stop: StopInfo::of(&phase.ending),
            requests_sent: c.sent,
            replies_ok: c.ok,
            errors: c.errors,
            timeouts: c.timeouts,
            abandoned: c.abandoned,
            late_replies: c.late,
            unmatched_replies: c.unmatched,
            duration_s: phase.duration.as_secs_f64(),
            throughput_msgs_per_s: c.ok as f64 / secs,
            throughput_mb_per_s: c.ok as f64 * size as f64 / secs / 1e6,
            latency_us: Latency::of(&phase.latency),
            client_cpu: ClientCpu {
                cpu_s,
                per_request_us: if c.sent > 0 {
                    cpu_s * 1e6 / c.sent as f64
                } else {
                    0.0
                },
                busiest_thread: phase.busiest.as_ref().map(|b| b.0.clone()),
                busiest_share: phase.busiest.as_ref().map_or(0.0, |b| b.1),
            },
        }
    }

    /// The totals of `runs` with the median of each figure; the spread when
    /// there is more than one run.
    pub fn combine(runs: &[Figures]) -> (Figures, Option<Spread>) {
        let mut total = runs.first().cloned().expect("at least one run");
        if runs.len() == 1 {
            return (total, None);
        }
        let range = |f: fn(&Figures) -> f64| Range::of(runs.iter().map(f)).expect("runs");
        let spread = Spread {
            throughput_msgs_per_s: range(|r| r.throughput_msgs_per_s),
            p50_us: range(|r| r.latency_us.p50 as f64),
            p90_us: range(|r| r.latency_us.p90 as f64),
            p99_us: range(|r| r.latency_us.p99 as f64),
            p999_us: range(|r| r.latency_us.p999 as f64),
            max_us: range(|r| r.latency_us.max as f64),
            cpu_per_request_us: range(|r| r.client_cpu.per_request_us),
        };
        total.stop = runs
            .iter()
            .find(|r| !r.stop.completed())
            .map_or(total.stop, |r| r.stop.clone());
        for r in &runs[1..] {
            total.requests_sent += r.requests_sent;
            total.replies_ok += r.replies_ok;
            total.errors += r.errors;
            total.timeouts += r.timeouts;
            total.abandoned += r.abandoned;
            total.late_replies += r.late_replies;
            total.unmatched_replies += r.unmatched_replies;
        }
        total.duration_s = runs.iter().map(|r| r.duration_s).sum();
        total.throughput_msgs_per_s = spread.throughput_msgs_per_s.median;
        total.throughput_mb_per_s = range(|r| r.throughput_mb_per_s).median;
        let median = |r: Range| r.median.round() as u64;
        total.latency_us = Latency {
            p50: median(spread.p50_us),
            p90: median(spread.p90_us),
            p99: median(spread.p99_us),
            p999: median(spread.p999_us),
            max: median(spread.max_us),
            mean: range(|r| r.latency_us.mean).median,
        };
        total.client_cpu = ClientCpu {
            cpu_s: runs.iter().map(|r| r.client_cpu.cpu_s).sum(),
            per_request_us: spread.cpu_per_request_us.median,
            busiest_thread: runs
                .iter()
                .max_by(|a, b| {
                    a.client_cpu
                        .busiest_share
                        .total_cmp(&b.client_cpu.busiest_share)
                })
                .and_then(|r| r.client_cpu.busiest_thread.clone()),
            busiest_share: range(|r| r.client_cpu.busiest_share).max,
        };
        (total, Some(spread))
    }
}

impl BenchReport {
    /// Reads a report written by `--json`.
    pub fn read(path: &Path) -> Result<BenchReport, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ReadError::Format {
            path: path.display().to_string(),
            source,
        })
    }

    pub(crate) fn new(
        settings: Settings,
        runs: Vec<Figures>,
        saturation: Vec<String>,
        error_samples: Vec<String>,
        series: Vec<Second>,
        latency: &Histogram<u64>,
    ) -> BenchReport {
        let (figures, spread) = Figures::combine(&runs);
        BenchReport {
            tool: "plug-conformance bench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            settings,
            figures,
            saturation,
            error_samples,
            runs,
            spread,
            series,
            histogram: Buckets::of(latency),
        }
    }

    /// The report as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes") + "\n"
    }

    /// 0: every request got its reply; 1: an error, a timeout, a server
    /// gone, or nothing measured; 128 + the signal when interrupted.
    pub fn exit_code(&self) -> u8 {
        let f = &self.figures;
        if let Some(signal) = f.stop.signal() {
            return 128 + signal as u8;
        }
        let failed = f.errors + f.timeouts > 0 || f.replies_ok == 0 || !f.stop.completed();
        u8::from(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_take_the_middle() {
        let r = Range::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((r.median, r.min, r.max), (2.0, 1.0, 3.0));
        assert_eq!(Range::of([1.0, 2.0, 4.0, 10.0]).unwrap().median, 3.0);
        assert!(Range::of([]).is_none());
        let a = Range::of([1.0, 2.0]).unwrap();
        assert!(a.overlaps(&Range::of([2.0, 3.0]).unwrap()));
        assert!(!a.overlaps(&Range::of([2.5, 3.0]).unwrap()));
    }

    #[test]
    fn buckets_rebuild_the_histogram() {
        let mut h = new_histogram();
        for v in [1, 5, 5, 1000, 123_456, 5_000_000] {
            h.record(v).unwrap();
        }
        let b = Buckets::of(&h);
        assert_eq!(b.buckets.iter().map(|[_, n]| n).sum::<u64>(), 6);
        let again = b.histogram();
        for q in [0.0, 0.5, 0.9, 1.0] {
            assert_eq!(again.value_at_quantile(q), h.value_at_quantile(q), "q {q}");
        }
    }
}
