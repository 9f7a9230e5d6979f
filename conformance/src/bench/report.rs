//! What a benchmark run measured: the JSON written by `--json` and the
//! lines printed on the terminal.

use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::case::Profile;

/// Latency percentiles of the replies that came back, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    pub(crate) fn of(h: &Histogram<u64>) -> Latency {
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

/// One run of `plug-conformance bench`. The fields named in the crate
/// README are stable; `requests_sent == replies_ok + errors + timeouts`
/// always holds.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub endpoint: String,
    pub profile: Profile,
    /// `closed` or `open`.
    pub mode: &'static str,
    pub concurrency: usize,
    /// Requests in flight per connection (closed loop).
    pub window: Option<usize>,
    /// Requests per second asked for (open loop).
    pub rate: Option<f64>,
    /// Payload bytes per request: the `params` string (rpc) or the
    /// message (raw).
    pub size: usize,
    pub timeout_ms: u64,
    pub requests_sent: u64,
    pub replies_ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// From the first request sent to the last one ended.
    pub duration_s: f64,
    /// Successful round trips per second.
    pub throughput_msgs_per_s: f64,
    /// Payload megabytes (10^6 bytes) echoed back per second.
    pub throughput_mb_per_s: f64,
    /// Of the successful round trips (open loop: from when each was due).
    pub latency_us: Latency,
    /// A few distinct error messages, to say what went wrong.
    pub error_samples: Vec<String>,
}

impl BenchReport {
    /// 0 when every request got its reply, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.errors + self.timeouts > 0)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match (self.window, self.rate) {
            (_, Some(rate)) => format!(
                "open loop at {rate:.0} req/s over {} connection(s)",
                self.concurrency
            ),
            (window, None) => format!(
                "closed loop: {} connection(s) x {} in flight",
                self.concurrency,
                window.unwrap_or(1)
            ),
        };
        writeln!(
            f,
            "bench {} --profile {}: {shape}, {} B payload",
            self.endpoint, self.profile, self.size
        )?;
        writeln!(
            f,
            "  requests   {} sent, {} ok, {} errors, {} timeouts (timeout {} ms)",
            self.requests_sent, self.replies_ok, self.errors, self.timeouts, self.timeout_ms
        )?;
        writeln!(
            f,
            "  throughput {:.0} msgs/s, {:.2} MB/s over {:.2} s",
            self.throughput_msgs_per_s, self.throughput_mb_per_s, self.duration_s
        )?;
        let l = &self.latency_us;
        writeln!(
            f,
            "  latency us p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {:.1})",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )?;
        for e in &self.error_samples {
            writeln!(f, "  error: {e}")?;
        }
        Ok(())
    }
}
