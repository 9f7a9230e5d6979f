//! The report as the terminal shows it, and the units every text of the
//! bench uses: latency in the most readable of µs, ms and s, counts with
//! thousands separators.

use std::fmt::{self, Write as _};
use std::time::Duration;

use super::report::{BenchReport, Range};

/// `87 µs`, `1.23 ms`, `12.3 ms`, `123 ms`, `5.34 s`, `61.2 s`.
pub fn micros(us: f64) -> String {
    // Each bound is where rounding would carry into the next digit.
    if us < 999.5 {
        format!("{us:.0} µs")
    } else if us < 9_995.0 {
        format!("{:.2} ms", us / 1e3)
    } else if us < 99_950.0 {
        format!("{:.1} ms", us / 1e3)
    } else if us < 999_500.0 {
        format!("{:.0} ms", us / 1e3)
    } else if us < 9_995_000.0 {
        format!("{:.2} s", us / 1e6)
    } else {
        format!("{:.1} s", us / 1e6)
    }
}

/// A duration in the same units.
pub fn duration(d: Duration) -> String {
    micros(d.as_secs_f64() * 1e6)
}

/// `20,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate, rounded: `56,211`.
pub fn rate(r: f64) -> String {
    count(r.max(0.0).round() as u64)
}

/// `(55,100 … 58,900)` in `unit`.
fn spread(r: &Range, show: fn(f64) -> String) -> String {
    format!("({} … {})", show(r.min), show(r.max))
}

fn rate_f(r: f64) -> String {
    rate(r)
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        let t = &self.figures;
        let shape = match (s.window, s.rate) {
            (_, Some(r)) => format!(
                "open loop at {} req/s over {} connection{}",
                rate(r),
                s.concurrency,
                plural(s.concurrency)
            ),
            (window, None) => format!(
                "closed loop, {} connection{} x {} in flight",
                s.concurrency,
                plural(s.concurrency),
                window.unwrap_or(1)
            ),
        };
        let runs = if self.runs.len() > 1 {
            format!(", {} runs", self.runs.len())
        } else {
            String::new()
        };
        writeln!(
            f,
            "bench {} --profile {}: {shape}, {} B payload{runs}",
            s.endpoint, s.profile, s.size
        )?;
        if self.runs.len() > 1 {
            for (i, r) in self.runs.iter().enumerate() {
                let stop = if r.stop.completed() {
                    String::new()
                } else {
                    format!("  ({})", r.stop.reason)
                };
                writeln!(
                    f,
                    "  run {:<7} {} msgs/s  p50 {}  p99 {}  {} ok, {} failed{stop}",
                    i + 1,
                    rate(r.throughput_msgs_per_s),
                    micros(r.latency_us.p50 as f64),
                    micros(r.latency_us.p99 as f64),
                    count(r.replies_ok),
                    count(r.errors + r.timeouts),
                )?;
            }
        }
        let abandoned = if t.abandoned > 0 {
            format!(" ({} in flight when the run stopped)", count(t.abandoned))
        } else {
            String::new()
        };
        writeln!(
            f,
            "  requests    {} sent: {} ok, {} errors{abandoned}, {} timeouts (timeout {})",
            count(t.requests_sent),
            count(t.replies_ok),
            count(t.errors),
            count(t.timeouts),
            micros(s.timeout_ms as f64 * 1e3)
        )?;
        if t.late_replies + t.unmatched_replies > 0 {
            writeln!(
                f,
                "  also        {} late replies (after their timeout), {} matching no request",
                count(t.late_replies),
                count(t.unmatched_replies)
            )?;
        }
        if !t.stop.completed() {
            let at = t
                .stop
                .at_s
                .map(|s| format!(" at {s:.1} s"))
                .unwrap_or_default();
            let detail = t
                .stop
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            writeln!(f, "  stopped     {}{at}{detail}", t.stop.reason)?;
        }
        match &self.spread {
            None => {
                writeln!(
                    f,
                    "  throughput  {} msgs/s, {:.2} MB/s over {:.2} s",
                    rate(t.throughput_msgs_per_s),
                    t.throughput_mb_per_s,
                    t.duration_s
                )?;
                let l = &t.latency_us;
                if t.replies_ok > 0 {
                    writeln!(
                        f,
                        "  latency     p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {})",
                        micros(l.p50 as f64),
                        micros(l.p90 as f64),
                        micros(l.p99 as f64),
                        micros(l.p999 as f64),
                        micros(l.max as f64),
                        micros(l.mean)
                    )?;
                } else {
                    writeln!(f, "  latency     none measured: no reply was ok")?;
                }
            }
            Some(sp) => {
                writeln!(
                    f,
                    "  throughput  {} msgs/s median {}",
                    rate(sp.throughput_msgs_per_s.median),
                    spread(&sp.throughput_msgs_per_s, rate_f)
                )?;
                for (name, r) in [
                    ("p50", &sp.p50_us),
                    ("p90", &sp.p90_us),
                    ("p99", &sp.p99_us),
                    ("p99.9", &sp.p999_us),
                    ("max", &sp.max_us),
                ] {
                    writeln!(
                        f,
                        "  latency {name:<5} {:<9} median {}",
                        micros(r.median),
                        spread(r, micros)
                    )?;
                }
            }
        }
        let cpu = &t.client_cpu;
        let mut line = format!("  client CPU  {:.2} µs per request", cpu.per_request_us);
        if let Some(thread) = &cpu.busiest_thread {
            let _ = write!(
                line,
                "; busiest thread {thread} at {:.0}% of a core",
                cpu.busiest_share * 100.0
            );
        }
        writeln!(f, "{line}")?;
        for w in &self.saturation {
            writeln!(f, "  warning     {w}")?;
        }
        for e in &self.error_samples {
            writeln!(f, "  error       {e}")?;
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reads_in_the_nearest_unit() {
        assert_eq!(micros(87.0), "87 µs");
        assert_eq!(micros(999.0), "999 µs");
        assert_eq!(micros(999.7), "1.00 ms");
        assert_eq!(micros(1234.0), "1.23 ms");
        assert_eq!(micros(12_345.0), "12.3 ms");
        assert_eq!(micros(123_456.0), "123 ms");
        assert_eq!(micros(5_341_183.0), "5.34 s");
        assert_eq!(micros(61_200_000.0), "61.2 s");
        assert_eq!(duration(Duration::from_millis(300)), "300 ms");
    }

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rate(56_210.6), "56,211");
    }
}
