//! `plug-bench`: one command that measures plug beside raw libzmq, plain
//! TCP, HTTP/1.1 and the Python, Node.js and Ruby templates on this
//! machine, in one run, and writes the table and a plot into BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p plug-bench -- --out BENCHMARKS.md   # the full run, a few minutes
//! cargo run -p plug-bench -- --quick                         # every row briefly (CI)
//! ```
//!
//! Layout: `plan` (rows, sizes, windows, the loop over server processes),
//! `servers` (the baseline servers, `plug-bench serve KIND ENDPOINT`),
//! `drivers` (their clients), `plug_client` (the plug rows' client, the
//! plug library itself; `plug-bench client KIND ENDPOINT` runs it alone for
//! `bench/per-request`), `table` (targets and Markdown), `plot` (the SVG,
//! drawn by `plug_conformance::bench::plot`). The row `plug-conformance
//! bench raw` runs the harness's own engine against the libzmq echo.

mod drivers;
mod pin;
mod plan;
mod plot;
mod plug_client;
mod servers;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use plug::transport::Transport;

const BEGIN: &str = "<!-- plug-bench:begin (generated; edit outside these markers) -->";
const END: &str = "<!-- plug-bench:end -->";

#[derive(Parser)]
#[command(
    version,
    about = "Measure plug beside raw libzmq, TCP, HTTP and other languages."
)]
struct Cli {
    #[command(subcommand)]
    helper: Option<Helper>,
    /// Write the results between the plug-bench markers of this Markdown
    /// file (appended if it has none) and the plot next to it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Every row and code path for a moment only (64 B, 1 and 16 in flight,
    /// a 1 MiB transfer): proves the comparison still runs.
    #[arg(long)]
    quick: bool,
    /// Only rows whose name contains this text (case-insensitive); repeatable.
    /// `--only cross` adds the diagnostic rows that pair one plug side with
    /// one libzmq side; no other text selects them.
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
    /// Let the scheduler place servers and clients. By default each server
    /// runs on the first allowed CPU and the clients on the second, which
    /// makes runs repeatable.
    #[arg(long)]
    no_pin: bool,
}

#[derive(Subcommand)]
enum Helper {
    /// Run one baseline server (used by the run itself).
    #[command(hide = true)]
    Serve { kind: String, endpoint: String },
    /// Run the plug rows' client alone (used by bench/per-request):
    /// `plug-rpc` or `plug-raw` (add `-libzmq` for that transport), one
    /// connection, WINDOW in flight.
    #[command(hide = true)]
    Client {
        kind: String,
        endpoint: String,
        #[arg(long, default_value_t = 256)]
        window: usize,
        #[arg(long, default_value_t = 300_000)]
        requests: u64,
        #[arg(long, default_value_t = 64)]
        size: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.helper {
        Some(Helper::Serve { kind, endpoint }) => {
            return match servers::serve(kind, endpoint) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("plug-bench serve {kind}: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Helper::Client {
            kind,
            endpoint,
            window,
            requests,
            size,
        }) => return client(kind, endpoint, *window, *requests, *size),
        None => {}
    }
    match compare(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("plug-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the comparison; `false` when a row failed to measure.
fn compare(cli: &Cli) -> anyhow::Result<bool> {
    let plan = if cli.quick {
        plan::Plan::quick()
    } else {
        plan::Plan::full()
    };
    // Counted before pinning narrows what this process may use.
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    // Before any thread starts: threads inherit the mask.
    let pinning = if cli.no_pin {
        None
    } else {
        let p = pin::Pinning::apply();
        if p.is_none() {
            eprintln!("not pinned: needs two allowed CPUs and taskset");
        }
        p
    };
    let rows: Vec<plan::Row> = plan::rows(pinning)
        .into_iter()
        .filter(|r| {
            let named = |o: &String| r.name.to_lowercase().contains(&o.to_lowercase());
            if r.on_request {
                // Only by an --only that asks for it: "plug raw" alone must
                // not pull in a cross row.
                cli.only
                    .iter()
                    .any(|o| o.to_lowercase().starts_with("cross") && named(o))
            } else {
                cli.only.is_empty() || cli.only.iter().any(named)
            }
        })
        .collect();
    for r in rows.iter().filter(|r| r.missing.is_some()) {
        eprintln!(
            "{}: SKIPPED, {}",
            r.name,
            r.missing.as_deref().unwrap_or("")
        );
    }
    let load_before = loadavg();
    let started = Instant::now();
    let cells = plan::run(&plan, &rows, &mut |line| eprintln!("{line}"));
    // The small-message targets again, as alternating pairs: single cells
    // of 1.5 s move by 10-20% between runs even pinned.
    let pairs: Vec<plan::Paired> = [
        (("plug rpc", "raw libzmq"), (64, 1)),
        (("plug rpc", "raw libzmq"), (64, 256)),
        ((plan::BENCH_ROW, "raw libzmq"), (64, 256)),
    ]
    .into_iter()
    .filter(|(_, (_, w))| plan.windows.contains(w))
    .filter_map(|(rows_ab, shape)| {
        plan::paired(&plan, &rows, rows_ab, shape, &mut |line| {
            eprintln!("{line}")
        })
    })
    .collect();
    let took_s = started.elapsed().as_secs_f64();
    let all_ok = cells
        .iter()
        .all(|c| c.note.is_none() && c.measured.failed == 0);
    let targets = table::targets(&cells, &pairs, plan.big_size);
    let order: Vec<&str> = rows
        .iter()
        .filter(|r| r.missing.is_none())
        .map(|r| r.name)
        .collect();

    let plot_path = cli.out.as_ref().map(|out| {
        out.parent()
            .unwrap_or(Path::new(""))
            .join("bench")
            .join("benchmarks.svg")
    });
    if let Some(p) = &plot_path {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        plot::draw(p, &cells, &order, 64)?;
    }
    let mut command = String::from("cargo run --release -p plug-bench --");
    for a in std::env::args().skip(1) {
        command.push(' ');
        command.push_str(&a);
    }
    let ctx = table::Context {
        command,
        cpus,
        cpu_model: cpu_model(),
        load_before,
        load_after: loadavg(),
        took_s,
        pinning,
        plot: plot_path
            .as_ref()
            .map(|_| "bench/benchmarks.svg".to_string()),
    };
    let text = table::markdown(&ctx, &rows, &cells, &targets);
    match &cli.out {
        Some(out) => {
            write_between_markers(out, &text)?;
            eprintln!("wrote {}", out.display());
        }
        None => print!("{text}"),
    }
    Ok(all_ok)
}

/// `plug-bench client`: one run of the plug rows' client, printed as
/// `plug-conformance bench` prints its figures.
fn client(kind: &str, endpoint: &str, window: usize, requests: u64, size: usize) -> ExitCode {
    let (profile, transport) = match kind {
        "plug-rpc" => (plug_conformance::Profile::Rpc, None),
        "plug-raw" => (plug_conformance::Profile::Raw, None),
        "plug-rpc-libzmq" => (plug_conformance::Profile::Rpc, Some(Transport::Libzmq)),
        "plug-raw-libzmq" => (plug_conformance::Profile::Raw, Some(Transport::Libzmq)),
        other => {
            eprintln!(
                "plug-bench client: unknown kind {other} (plug-rpc, plug-raw, plug-rpc-libzmq or plug-raw-libzmq)"
            );
            return ExitCode::from(2);
        }
    };
    let amount = plug_client::Amount::Requests(requests);
    match plug_client::measure(endpoint, profile, transport, size, window, amount) {
        Ok(m) => {
            println!(
                "  throughput  {:.0} msgs/s, {:.2} MB/s ({} ok, {} failed)",
                m.msgs_per_s, m.mb_per_s, m.ok, m.failed
            );
            let l = m.latency;
            println!(
                "  latency us  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                l.p50, l.p90, l.p99, l.p999, l.max
            );
            ExitCode::from(u8::from(m.failed > 0))
        }
        Err(e) => {
            eprintln!("plug-bench client: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn write_between_markers(path: &Path, block: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{block}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ if old.is_empty() => format!("# Benchmarks\n\n{block}\n"),
        _ => format!("{}\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new)?;
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
