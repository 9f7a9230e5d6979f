//! The Markdown written into BENCHMARKS.md: the machine, the command, the
//! targets with their ratios, and one table per payload size.

use std::fmt::Write;

use crate::drivers::Measured;
use crate::plan::{Cell, Paired, Row, BENCH_ROW, MIB};

/// The machine and the moment, as the report names them.
pub struct Context {
    pub command: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub load_before: String,
    pub load_after: String,
    pub took_s: f64,
    pub pinning: Option<crate::pin::Pinning>,
    pub plot: Option<String>,
}

fn find<'a>(cells: &'a [Cell], row: &str, size: usize, window: usize) -> Option<&'a Cell> {
    cells
        .iter()
        .find(|c| c.row == row && c.size == size && c.window == window && c.measured.ok > 0)
}

/// One target: a ratio of two cells against a bound.
pub struct Target {
    pub what: String,
    pub ratio: Option<f64>,
    pub bound: f64,
    /// `true` when the ratio must be at most the bound.
    pub at_most: bool,
    pub detail: String,
}

impl Target {
    pub fn met(&self) -> Option<bool> {
        self.ratio.map(|r| {
            if self.at_most {
                r <= self.bound
            } else {
                r >= self.bound
            }
        })
    }
}

/// The median of `values` (the upper one of an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A target from alternating runs: the median round ratio, its range, and
/// the medians of both rows, formatted by `show`.
fn from_pairs(
    p: &Paired,
    metric: fn(&Measured) -> f64,
    show: fn(f64) -> String,
) -> Option<(f64, String)> {
    let mut ratios: Vec<f64> = p
        .a_runs
        .iter()
        .zip(&p.b_runs)
        .map(|(a, b)| metric(a) / metric(b).max(1e-9))
        .collect();
    if ratios.is_empty() {
        return None;
    }
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let n = ratios.len();
    let ratio = median(&mut ratios);
    let mut a: Vec<f64> = p.a_runs.iter().map(metric).collect();
    let mut b: Vec<f64> = p.b_runs.iter().map(metric).collect();
    let detail = format!(
        "{} / {}, median of {n} alternating runs (ratios {lo:.2}x to {hi:.2}x)",
        show(median(&mut a)),
        show(median(&mut b)),
    );
    Some((ratio, detail))
}

/// The four targets of the issue, from the cells of one run; the two that
/// compare small messages come from `pairs` when they were measured.
pub fn targets(cells: &[Cell], pairs: &[Paired], big: usize) -> Vec<Target> {
    let pair_of = |a: &str, size: usize, window: usize| {
        pairs
            .iter()
            .find(|p| p.a == a && p.b == "raw libzmq" && p.size == size && p.window == window)
    };
    let pair = |size: usize, window: usize| pair_of("plug rpc", size, window);
    let p50 = |m: &Measured| m.latency.p50 as f64;
    let us = |v: f64| format!("{v:.0} us");
    let msgs = |m: &Measured| m.msgs_per_s;
    let per_s = |v: f64| format!("{v:.0} msgs/s");
    let single_of =
        |row: &str, window: usize, metric: fn(&Measured) -> f64, show: fn(f64) -> String| {
            let rpc = find(cells, row, 64, window)?;
            let zmq = find(cells, "raw libzmq", 64, window)?;
            let (a, b) = (metric(&rpc.measured), metric(&zmq.measured));
            Some((a / b.max(1e-9), format!("{} / {}", show(a), show(b))))
        };
    let single = |window: usize, metric: fn(&Measured) -> f64, show: fn(f64) -> String| {
        single_of("plug rpc", window, metric, show)
    };
    let mut out = Vec::new();
    let (ratio, detail) = pair(64, 1)
        .and_then(|p| from_pairs(p, p50, us))
        .or_else(|| single(1, p50, us))
        .unzip();
    out.push(Target {
        what: "rpc round trip p50 (64 B, 1 in flight) / raw libzmq echo p50".into(),
        ratio,
        bound: 1.15,
        at_most: true,
        detail: detail.unwrap_or_default(),
    });
    let w = 256;
    let (ratio, detail) = pair(64, w)
        .and_then(|p| from_pairs(p, msgs, per_s))
        .or_else(|| single(w, msgs, per_s))
        .unzip();
    out.push(Target {
        what: format!("pipelined rpc throughput (64 B, {w} in flight) / raw libzmq pipelined echo"),
        ratio,
        bound: 0.6,
        at_most: false,
        detail: detail.unwrap_or_default(),
    });
    let (raw, zmq) = (
        find(cells, "plug raw", big, 1),
        find(cells, "raw libzmq", big, 1),
    );
    out.push(Target {
        what: format!("raw {} transfer / raw libzmq", size_name(big)),
        ratio: raw
            .zip(zmq)
            .map(|(a, b)| a.measured.mb_per_s / b.measured.mb_per_s),
        bound: 0.8,
        at_most: false,
        detail: raw
            .zip(zmq)
            .map(|(a, b)| {
                format!(
                    "{:.0} / {:.0} MB/s",
                    a.measured.mb_per_s, b.measured.mb_per_s
                )
            })
            .unwrap_or_default(),
    });
    let (ratio, detail) = pair_of(BENCH_ROW, 64, w)
        .and_then(|p| from_pairs(p, msgs, per_s))
        .or_else(|| single_of(BENCH_ROW, w, msgs, per_s))
        .unzip();
    out.push(Target {
        what: format!(
            "`plug-conformance bench --profile raw` / blocking libzmq client, both against the libzmq echo (64 B, {w} in flight)"
        ),
        ratio,
        bound: 0.9,
        at_most: false,
        detail: detail.unwrap_or_default(),
    });
    let best_rpc = cells
        .iter()
        .filter(|c| c.row == "plug rpc" && c.size == 64)
        .max_by(|a, b| a.measured.msgs_per_s.total_cmp(&b.measured.msgs_per_s));
    let http = find(cells, "HTTP/1.1", 64, 1);
    out.push(Target {
        what: "plug rpc / HTTP/1.1 keep-alive throughput, one connection (64 B)".into(),
        ratio: best_rpc
            .zip(http)
            .map(|(a, b)| a.measured.msgs_per_s / b.measured.msgs_per_s),
        bound: 3.0,
        at_most: false,
        detail: best_rpc
            .zip(http)
            .map(|(a, b)| {
                format!(
                    "{:.0} msgs/s ({} in flight) / {:.0} msgs/s (1 in flight, the most HTTP/1.1 allows)",
                    a.measured.msgs_per_s, a.window, b.measured.msgs_per_s
                )
            })
            .unwrap_or_default(),
    });
    out
}

pub fn size_name(size: usize) -> String {
    if size >= MIB {
        format!("{} MiB", size / MIB)
    } else if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// The whole generated block.
pub fn markdown(ctx: &Context, rows: &[Row], cells: &[Cell], targets: &[Target]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Produced by `{}` in {:.0} s.\n", ctx.command, ctx.took_s);
    let _ = writeln!(
        s,
        "Machine: {} CPUs (`nproc`), {}; load average before {}, after {} (`/proc/loadavg`).\n",
        ctx.cpus, ctx.cpu_model, ctx.load_before, ctx.load_after
    );
    let _ = match ctx.pinning {
        Some(p) => writeln!(
            s,
            "Pinned: every server on CPU {}, the clients (this process) on CPU {} (`--no-pin` lets the scheduler place them).\n",
            p.server_cpu, p.client_cpu
        ),
        None => writeln!(s, "Not pinned: the scheduler placed servers and clients.\n"),
    };
    let _ = writeln!(s, "### Targets\n");
    let _ = writeln!(s, "| target | bound | measured | ratio | met |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    for t in targets {
        let bound = format!("{} {}x", if t.at_most { "≤" } else { "≥" }, t.bound);
        let (ratio, met) = match (t.ratio, t.met()) {
            (Some(r), Some(m)) => (format!("{r:.2}x"), if m { "yes" } else { "**no**" }),
            _ => ("-".to_string(), "not measured"),
        };
        let _ = writeln!(
            s,
            "| {} | {bound} | {} | {ratio} | {met} |",
            t.what, t.detail
        );
    }
    let skipped: Vec<&Row> = rows.iter().filter(|r| r.missing.is_some()).collect();
    if !skipped.is_empty() {
        let _ = writeln!(s);
        for r in skipped {
            let _ = writeln!(
                s,
                "- **{} skipped**: {}",
                r.name,
                r.missing.as_deref().unwrap_or_default()
            );
        }
    }
    if let Some(plot) = &ctx.plot {
        let _ = writeln!(s, "\n![throughput and latency percentiles]({plot})");
    }
    let mut sizes: Vec<usize> = cells.iter().map(|c| c.size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for size in sizes {
        let _ = writeln!(s, "\n### {} payload\n", size_name(size));
        let _ = writeln!(
            s,
            "| implementation | in flight | msgs/s | MB/s | p50 us | p90 us | p99 us | p99.9 us | max us |"
        );
        let _ = writeln!(
            s,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for c in cells.iter().filter(|c| c.size == size) {
            if let Some(note) = &c.note {
                let _ = writeln!(
                    s,
                    "| {} | {} | failed: {} | | | | | | |",
                    c.row,
                    c.window,
                    note.replace('|', "/")
                );
                continue;
            }
            let m = &c.measured;
            let l = &m.latency;
            let failed = if m.failed > 0 {
                format!(" ({} failed)", m.failed)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.0}{failed} | {:.2} | {} | {} | {} | {} | {} |",
                c.row, c.window, m.msgs_per_s, m.mb_per_s, l.p50, l.p90, l.p99, l.p999, l.max
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(msgs_per_s: f64) -> Measured {
        Measured {
            msgs_per_s,
            ok: 1,
            ..Measured::default()
        }
    }

    fn cell(row: &'static str, window: usize, msgs_per_s: f64) -> Cell {
        Cell {
            row,
            size: 64,
            window,
            measured: measured(msgs_per_s),
            note: None,
        }
    }

    fn bench_pairs(engine: &[f64], libzmq: &[f64]) -> Paired {
        Paired {
            a: BENCH_ROW,
            b: "raw libzmq",
            size: 64,
            window: 256,
            a_runs: engine.iter().copied().map(measured).collect(),
            b_runs: libzmq.iter().copied().map(measured).collect(),
        }
    }

    fn bench_target(targets: &[Target]) -> &Target {
        targets
            .iter()
            .find(|t| t.what.starts_with("`plug-conformance bench --profile raw`"))
            .expect("the bench engine's target")
    }

    #[test]
    fn the_bench_engine_target_is_the_median_round_ratio() {
        // Round ratios 0.5, 0.95 and 1.2: the median is 0.95, met, though
        // one round alone would not be.
        let pairs = [bench_pairs(&[500.0, 950.0, 1200.0], &[1000.0; 3])];
        let targets = targets(&[], &pairs, MIB);
        let t = bench_target(&targets);
        assert_eq!((t.bound, t.at_most), (0.9, false));
        assert!((t.ratio.unwrap() - 0.95).abs() < 1e-9, "{:?}", t.ratio);
        assert_eq!(t.met(), Some(true));
        assert_eq!(
            t.detail,
            "950 msgs/s / 1000 msgs/s, median of 3 alternating runs (ratios 0.50x to 1.20x)"
        );
        let md = markdown(&context(), &[], &[], &targets);
        assert!(md.contains("| ≥ 0.9x | 950 msgs/s / 1000 msgs/s"), "{md}");
        assert!(md.contains("| 0.95x | yes |"), "{md}");
    }

    #[test]
    fn the_bench_engine_target_falls_back_to_single_cells() {
        let cells = [cell(BENCH_ROW, 256, 320.0), cell("raw libzmq", 256, 1000.0)];
        let targets = targets(&cells, &[], MIB);
        let t = bench_target(&targets);
        assert!((t.ratio.unwrap() - 0.32).abs() < 1e-9, "{:?}", t.ratio);
        assert_eq!(t.met(), Some(false));
        let md = markdown(&context(), &[], &cells, &targets);
        assert!(md.contains("| 0.32x | **no** |"), "{md}");
        // Nothing measured: said so, not judged.
        let none = targets_without_cells();
        assert_eq!(bench_target(&none).met(), None);
    }

    fn targets_without_cells() -> Vec<Target> {
        targets(&[], &[], MIB)
    }

    fn context() -> Context {
        Context {
            command: "plug-bench".into(),
            cpus: 2,
            cpu_model: "test".into(),
            load_before: "0".into(),
            load_after: "0".into(),
            took_s: 1.0,
            pinning: None,
            plot: None,
        }
    }
}
