//! `bench --html`: one self-contained page (no script, no external file)
//! with the run's settings and figures, the latency percentile curve on a
//! log axis, and throughput and failures second by second.

use std::fmt::Write;

use super::plot::{self, Axis, Chart, Scale, Series, Ticks};
use super::report::BenchReport;
use super::series::Second;
use super::text::{count, micros, rate};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:75em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse}td,th{padding:.15em 1.2em .15em 0;text-align:left;vertical-align:top}\
th{font-weight:normal;color:#555}figure{margin:1em 0}svg{max-width:100%;height:auto}\
.warning{color:#a40}.stopped{color:#c00;font-weight:bold}";

/// The page for `report`.
pub fn render(report: &BenchReport) -> String {
    let s = &report.settings;
    let f = &report.figures;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>plug-conformance bench: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>plug-conformance bench {}: {}</h1>\n",
        esc(&s.endpoint),
        esc(&report.version),
        esc(&s.endpoint)
    );
    if !f.stop.completed() {
        let _ = writeln!(
            h,
            "<p class=\"stopped\" id=\"stopped\">{}{}{}</p>",
            esc(&f.stop.reason),
            f.stop
                .at_s
                .map(|a| format!(" at {a:.1} s"))
                .unwrap_or_default(),
            f.stop
                .detail
                .as_deref()
                .map(|d| format!(": {}", esc(d)))
                .unwrap_or_default()
        );
    }
    for w in &report.saturation {
        let _ = writeln!(h, "<p class=\"warning\">warning: {}</p>", esc(w));
    }

    h.push_str("<h2>Settings</h2>\n<table id=\"settings\">\n");
    let load = match (s.window, s.rate) {
        (_, Some(r)) => format!("open loop, {} requests/s in all", rate(r)),
        (w, None) => format!("closed loop, {} in flight per connection", w.unwrap_or(1)),
    };
    let amount = match (s.requests, s.duration_ms) {
        (_, Some(ms)) => format!("{} of sending", micros(ms as f64 * 1e3)),
        (Some(n), None) => format!("{} requests", count(n)),
        (None, None) => "-".into(),
    };
    for (k, v) in [
        ("endpoint", s.endpoint.clone()),
        ("profile", s.profile.to_string()),
        ("load", load),
        ("connections", s.concurrency.to_string()),
        ("payload", format!("{} B", s.size)),
        ("run length", amount),
        ("timeout", micros(s.timeout_ms as f64 * 1e3)),
        (
            "warm-up",
            match s.warmup_ms {
                0 => "none".to_owned(),
                ms => micros(ms as f64 * 1e3),
            },
        ),
        ("runs", report.runs.len().to_string()),
    ] {
        row(&mut h, k, &v);
    }
    h.push_str("</table>\n");

    h.push_str("<h2>Results</h2>\n<table id=\"results\">\n");
    let median = if report.runs.len() > 1 {
        " (median of the runs)"
    } else {
        ""
    };
    for (k, v) in [
        ("requests sent", count(f.requests_sent)),
        ("ok", count(f.replies_ok)),
        ("errors", count(f.errors)),
        ("timeouts", count(f.timeouts)),
        (
            "throughput",
            format!(
                "{} msgs/s, {:.2} MB/s{median}",
                rate(f.throughput_msgs_per_s),
                f.throughput_mb_per_s
            ),
        ),
        ("latency p50", micros(f.latency_us.p50 as f64)),
        ("latency p90", micros(f.latency_us.p90 as f64)),
        ("latency p99", micros(f.latency_us.p99 as f64)),
        ("latency p99.9", micros(f.latency_us.p999 as f64)),
        ("latency max", micros(f.latency_us.max as f64)),
        (
            "client CPU",
            format!("{:.2} µs per request", f.client_cpu.per_request_us),
        ),
    ] {
        row(&mut h, k, &v);
    }
    h.push_str("</table>\n");
    for e in &report.error_samples {
        let _ = writeln!(h, "<p>error: <code>{}</code></p>", esc(e));
    }

    let latency = plot::percentile_chart(
        "latency by percentile (ok replies)",
        vec![Series {
            name: "latency".into(),
            points: plot::percentile_curve(&report.histogram.histogram()),
        }],
    );
    figure(&mut h, "latency", "Latency", &latency);
    // Each second at its middle; see `plotted` for which seconds.
    let per_run = |value: fn(&Second) -> f64, rates: bool| -> Vec<Series> {
        (1..=report.runs.len())
            .map(|run| Series {
                name: if report.runs.len() > 1 {
                    format!("run {run}")
                } else {
                    "ok".into()
                },
                points: plotted(&report.series, run, rates)
                    .map(|p| (p.t_s as f64 + p.span_s / 2.0, value(p)))
                    .collect(),
            })
            .collect()
    };
    let throughput = Chart {
        title: "ok replies per second".into(),
        x: Axis::new("seconds into the run", Scale::Linear, Ticks::Whole),
        y: Axis::new("msgs/s", Scale::Linear, Ticks::Count),
        series: per_run(|p| p.ok as f64 / p.span_s, true),
    };
    figure(&mut h, "throughput", "Throughput over time", &throughput);
    let mut failures = Vec::new();
    for (name, value) in [
        ("errors", (|p| p.errors as f64) as fn(&Second) -> f64),
        ("timeouts", |p| p.timeouts as f64),
    ] {
        for mut s in per_run(value, false) {
            s.name = if report.runs.len() > 1 {
                format!("{name}, {}", s.name)
            } else {
                name.into()
            };
            failures.push(s);
        }
    }
    let failures = Chart {
        title: "errors and timeouts per second".into(),
        x: Axis::new("seconds into the run", Scale::Linear, Ticks::Whole),
        y: Axis::new("requests", Scale::Linear, Ticks::Count),
        series: failures,
    };
    figure(
        &mut h,
        "failures",
        "Errors and timeouts over time",
        &failures,
    );
    h.push_str("</body>\n</html>\n");
    h
}

/// The seconds of `run` to plot. Counts (errors, timeouts) are plotted for
/// every second, the last partial one too: a run stopped early has its
/// failures there. A rate (ok replies per second) leaves out a last second
/// of under half a second, whose rate would be noise, unless the run had no
/// other: a run shorter than that still shows its one rate.
fn plotted(series: &[Second], run: usize, rates: bool) -> impl Iterator<Item = &Second> {
    let of_run = move || series.iter().filter(move |p| p.run == run);
    let short = move |p: &Second| rates && p.span_s < 0.5;
    let keep_short = of_run().all(short);
    of_run().filter(move |p| keep_short || !short(p))
}

fn row(h: &mut String, k: &str, v: &str) {
    let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
}

fn figure(h: &mut String, id: &str, caption: &str, chart: &Chart) {
    let _ = writeln!(h, "<h2>{}</h2>\n<figure id=\"{id}\">", esc(caption));
    match plot::svg(std::slice::from_ref(chart), 900, 380) {
        Ok(svg) => h.push_str(&svg),
        Err(e) => {
            let _ = write!(h, "<p>{}</p>", esc(&e.to_string()));
        }
    }
    h.push_str("\n</figure>\n");
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t_s: u64, span_s: f64, ok: u64, errors: u64) -> Second {
        Second {
            run: 1,
            t_s,
            span_s,
            sent: ok + errors,
            ok,
            errors,
            timeouts: 0,
            p50_us: None,
            p99_us: None,
        }
    }

    fn times(series: &[Second], rates: bool) -> Vec<u64> {
        plotted(series, 1, rates).map(|p| p.t_s).collect()
    }

    #[test]
    fn a_short_last_second_keeps_its_failures_but_not_its_rate() {
        // A server killed in the third second: the run stops 0.1 s into
        // the fifth, where the requests in flight end as errors.
        let killed = [
            second(0, 1.0, 30_000, 0),
            second(1, 1.0, 30_000, 0),
            second(2, 1.0, 2_400, 0),
            second(3, 1.0, 0, 0),
            second(4, 0.1, 0, 60_000),
        ];
        assert_eq!(times(&killed, false), [0, 1, 2, 3, 4]);
        assert_eq!(times(&killed, true), [0, 1, 2, 3]);
        // Other runs' seconds are not this run's.
        let mut other = second(0, 1.0, 1, 0);
        other.run = 2;
        assert_eq!(plotted(&[other], 1, true).count(), 0);
    }

    #[test]
    fn a_run_under_half_a_second_still_shows_its_rate() {
        let short = [second(0, 0.36, 20_000, 0)];
        assert_eq!(times(&short, true), [0]);
        assert_eq!(times(&short, false), [0]);
    }
}
