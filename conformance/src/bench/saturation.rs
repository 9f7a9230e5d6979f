//! When the figures may measure something else than the server: an open
//! loop that could not send at the rate asked, replies slower than the
//! rate, a client thread near 100% of a core.

use std::time::Duration;

use super::options::Load;
use super::report::Figures;
use super::text::rate;

/// A thread this busy is the bottleneck.
const BUSY: f64 = 0.9;
/// A rate this far below the one asked is "not reached".
const SHORT: f64 = 0.95;

/// What one run needs for the judgement.
pub(crate) struct RunLoad<'a> {
    pub figures: &'a Figures,
    /// From the start to the last request sent.
    pub send_span: Duration,
}

/// The warnings for `runs` of `load`, each said once.
pub(crate) fn warnings(load: Load, runs: &[RunLoad]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut say = |w: String| {
        if !out.contains(&w) {
            out.push(w);
        }
    };
    for r in runs {
        let f = r.figures;
        let cpu = &f.client_cpu;
        let client_busy = cpu.busiest_share >= BUSY;
        if let (Load::Open { rate: asked }, true) = (load, f.stop.completed()) {
            // The requests went out over this long; on time, the last one
            // went out when it was due.
            let due_span = f.requests_sent.saturating_sub(1) as f64 / asked;
            let span = due_span.max(r.send_span.as_secs_f64());
            if f.requests_sent >= 2 && span > 0.0 {
                let sent = f.requests_sent as f64 / span;
                if sent < SHORT * asked {
                    say(format!(
                        "target rate not reached: {} req/s asked, {} sent{}",
                        rate(asked),
                        rate(sent),
                        if client_busy {
                            " (the client could not keep up)"
                        } else {
                            ""
                        }
                    ));
                } else if f.throughput_msgs_per_s < SHORT * asked {
                    say(format!(
                        "replies came back at {} msgs/s of the {} req/s sent: the server did not keep up",
                        rate(f.throughput_msgs_per_s),
                        rate(asked)
                    ));
                }
            }
        }
        if client_busy {
            say(format!(
                "the client was near its limit: thread {} used {:.0}% of a core, so these figures measure the client, not the server",
                cpu.busiest_thread.as_deref().unwrap_or("?"),
                cpu.busiest_share * 100.0
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::{ClientCpu, Latency, StopInfo};

    fn figures(sent: u64, ok_rate: f64, busiest_share: f64) -> Figures {
        Figures {
            stop: StopInfo {
                reason: "completed".into(),
                at_s: None,
                detail: None,
            },
            requests_sent: sent,
            replies_ok: sent,
            errors: 0,
            timeouts: 0,
            abandoned: 0,
            late_replies: 0,
            unmatched_replies: 0,
            duration_s: 1.0,
            throughput_msgs_per_s: ok_rate,
            throughput_mb_per_s: 0.0,
            latency_us: Latency::default(),
            client_cpu: ClientCpu {
                cpu_s: 1.0,
                per_request_us: 1.0,
                busiest_thread: Some("bench-conn-0".into()),
                busiest_share,
            },
        }
    }

    fn one(load: Load, f: &Figures) -> Vec<String> {
        warnings(
            load,
            &[RunLoad {
                figures: f,
                send_span: Duration::from_secs(1),
            }],
        )
    }

    #[test]
    fn an_open_loop_that_falls_behind_says_so() {
        let open = Load::Open { rate: 200_000.0 };
        let w = one(open, &figures(57_000, 57_000.0, 1.0));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("target rate not reached: 200,000 req/s asked, 57,000 sent (the client could not keep up)"), "{w:?}");
        assert!(w[1].contains("measure the client, not the server"), "{w:?}");
        // Sent on time, answered slowly: the server's limit.
        let w = one(open, &figures(200_000, 57_000.0, 0.3));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("the server did not keep up"), "{w:?}");
        assert!(one(open, &figures(200_000, 199_000.0, 0.3)).is_empty());
    }

    #[test]
    fn a_closed_loop_only_warns_about_a_busy_client() {
        let closed = Load::Closed { window: 16 };
        assert!(one(closed, &figures(100, 50.0, 0.5)).is_empty());
        assert_eq!(one(closed, &figures(100, 50.0, 0.95)).len(), 1);
    }
}
