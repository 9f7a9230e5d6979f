//! Two reports side by side (`bench --baseline OLD`, `compare OLD NEW`):
//! each figure, its change, and whether the change is beyond the noise.
//!
//! With several runs on both sides (`--runs N`), a figure's change counts
//! only when the two ranges of runs do not overlap, as hyperfine judges
//! it; with a single run on either side the change is shown with a note
//! that noise cannot be told from it.

use std::fmt::Write;

use super::report::{BenchReport, Figures, Range};
use super::text::{micros, rate};

/// Whether more of a figure is better.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Higher,
    Lower,
}

struct Figure {
    name: &'static str,
    better: Better,
    show: fn(f64) -> String,
    value: fn(&Figures) -> f64,
    range: fn(&BenchReport) -> Option<Range>,
}

fn figures() -> [Figure; 7] {
    fn us(v: f64) -> String {
        micros(v)
    }
    fn cpu(v: f64) -> String {
        format!("{v:.2} µs")
    }
    [
        Figure {
            name: "throughput msgs/s",
            better: Better::Higher,
            show: rate,
            value: |f| f.throughput_msgs_per_s,
            range: |r| r.spread.as_ref().map(|s| s.throughput_msgs_per_s),
        },
        Figure {
            name: "latency p50",
            better: Better::Lower,
            show: us,
            value: |f| f.latency_us.p50 as f64,
            range: |r| r.spread.as_ref().map(|s| s.p50_us),
        },
        Figure {
            name: "latency p90",
            better: Better::Lower,
            show: us,
            value: |f| f.latency_us.p90 as f64,
            range: |r| r.spread.as_ref().map(|s| s.p90_us),
        },
        Figure {
            name: "latency p99",
            better: Better::Lower,
            show: us,
            value: |f| f.latency_us.p99 as f64,
            range: |r| r.spread.as_ref().map(|s| s.p99_us),
        },
        Figure {
            name: "latency p99.9",
            better: Better::Lower,
            show: us,
            value: |f| f.latency_us.p999 as f64,
            range: |r| r.spread.as_ref().map(|s| s.p999_us),
        },
        Figure {
            name: "latency max",
            better: Better::Lower,
            show: us,
            value: |f| f.latency_us.max as f64,
            range: |r| r.spread.as_ref().map(|s| s.max_us),
        },
        Figure {
            name: "client CPU/request",
            better: Better::Lower,
            show: cpu,
            value: |f| f.client_cpu.per_request_us,
            range: |r| r.spread.as_ref().map(|s| s.cpu_per_request_us),
        },
    ]
}

/// `old` and `new` side by side, named `old_name` and `new_name`.
pub fn render(old: &BenchReport, old_name: &str, new: &BenchReport, new_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "compare {old_name} (before) with {new_name} (after)");
    for note in setting_differences(old, new) {
        let _ = writeln!(out, "  note: {note}");
    }
    let cell = |r: &BenchReport, f: &Figure| -> String {
        let v = (f.show)((f.value)(&r.figures));
        match (f.range)(r) {
            Some(range) => format!("{v} ({} … {})", (f.show)(range.min), (f.show)(range.max)),
            None => v,
        }
    };
    let runs = |r: &BenchReport| match r.runs.len() {
        1 => "1 run".to_owned(),
        n => format!("median of {n} runs"),
    };
    let _ = writeln!(
        out,
        "  {:<19} {:<28} {:<28} change",
        "",
        runs(old),
        runs(new)
    );
    let both_spread = old.spread.is_some() && new.spread.is_some();
    for f in figures() {
        let (a, b) = ((f.value)(&old.figures), (f.value)(&new.figures));
        let change = if a == 0.0 {
            "-".to_owned()
        } else if ((b - a) / a).abs() < 0.0005 {
            "same".to_owned()
        } else {
            let pct = (b - a) / a * 100.0;
            let verdict = {
                let better = (pct > 0.0) == (f.better == Better::Higher);
                let word = if better { "better" } else { "worse" };
                match ((f.range)(old), (f.range)(new)) {
                    (Some(x), Some(y)) if x.overlaps(&y) => "within the spread".to_owned(),
                    (Some(_), Some(_)) => format!("{word}, beyond the spread"),
                    _ => word.to_owned(),
                }
            };
            format!("{pct:+.1}% ({verdict})")
        };
        let _ = writeln!(
            out,
            "  {:<19} {:<28} {:<28} {change}",
            f.name,
            cell(old, &f),
            cell(new, &f)
        );
    }
    for (name, value) in [
        ("errors", (|f| f.errors) as fn(&Figures) -> u64),
        ("timeouts", |f| f.timeouts),
    ] {
        let line = format!(
            "  {:<19} {:<28} {}",
            name,
            value(&old.figures),
            value(&new.figures)
        );
        let _ = writeln!(out, "{line}");
    }
    for (name, r) in [(old_name, old), (new_name, new)] {
        if !r.figures.stop.completed() {
            let _ = writeln!(
                out,
                "  note: {name} did not complete: {}",
                r.figures.stop.reason
            );
        }
    }
    if !both_spread {
        let _ = writeln!(
            out,
            "  note: with a single run on a side, a change cannot be told from noise: measure both with --runs 5"
        );
    }
    out
}

/// The settings that differ, so a comparison of unlike runs says so.
fn setting_differences(old: &BenchReport, new: &BenchReport) -> Vec<String> {
    let (a, b) = (&old.settings, &new.settings);
    let mut notes = Vec::new();
    let mut differ = |name: &str, x: String, y: String| {
        if x != y {
            notes.push(format!("{name} differs: {x} before, {y} after"));
        }
    };
    differ("profile", a.profile.to_string(), b.profile.to_string());
    differ("mode", a.mode.clone(), b.mode.clone());
    differ(
        "concurrency",
        a.concurrency.to_string(),
        b.concurrency.to_string(),
    );
    let shown = |v: Option<String>| v.unwrap_or_else(|| "none".to_owned());
    differ(
        "window",
        shown(a.window.map(|w| w.to_string())),
        shown(b.window.map(|w| w.to_string())),
    );
    differ(
        "rate",
        shown(a.rate.map(|r| format!("{r}/s"))),
        shown(b.rate.map(|r| format!("{r}/s"))),
    );
    differ("size", a.size.to_string(), b.size.to_string());
    notes
}
