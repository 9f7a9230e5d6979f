//! The flags of `plug-conformance bench` and `plug-conformance compare`,
//! and what the commands do with them; `main.rs` only dispatches here.
//!
//! Exit status of `bench`: 0 every request got its reply; 1 an error, a
//! timeout, a server gone or unreachable, nothing measured; 2 a bad option;
//! 130 or 143 interrupted by SIGINT or SIGTERM (the partial report is
//! printed and written all the same).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{bench, compare, html, BenchError, BenchOptions, BenchReport, Load, Stop, Target};
use crate::case::Profile;

/// Load a server and report latency percentiles and throughput.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["endpoint", "spawn"]))]
#[command(group = clap::ArgGroup::new("amount").args(["requests", "duration_ms"]))]
pub struct BenchArgs {
    /// The server's endpoint, e.g. tcp://127.0.0.1:5555.
    endpoint: Option<String>,
    /// Start this command with `sh -c`, `{endpoint}` replaced by a free
    /// loopback endpoint; stop it afterwards.
    #[arg(long, value_name = "COMMAND")]
    spawn: Option<String>,
    /// rpc: `echo` requests with a string of --size bytes; raw: messages of
    /// --size bytes echoed back.
    #[arg(long, value_enum, default_value_t = Profile::Rpc)]
    profile: Profile,
    /// Connections, each a socket and a thread of its own (1 to 256).
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    concurrency: usize,
    /// Closed loop: requests in flight on each connection.
    #[arg(
        short,
        long,
        value_name = "N",
        default_value_t = 1,
        conflicts_with = "rate"
    )]
    window: usize,
    /// Open loop: send this many requests per second in total, whatever the
    /// server does; latency counts from when each request was due.
    #[arg(short, long, value_name = "PER_S")]
    rate: Option<f64>,
    /// Stop after this many requests [default: 10000 without --duration-ms].
    #[arg(short = 'n', long, value_name = "N")]
    requests: Option<u64>,
    /// Stop sending after this long; requests in flight still end.
    #[arg(short, long, value_name = "MS")]
    duration_ms: Option<u64>,
    /// Payload bytes per request.
    #[arg(short, long, value_name = "BYTES", default_value_t = 64)]
    size: usize,
    /// Per request: no reply within this long counts as a timeout.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    timeout_ms: u64,
    /// The server is gone, and the run stops, after this many timeouts in a
    /// row with nothing heard for longer than --timeout-ms (or at once when
    /// no connection is up that long).
    #[arg(long, value_name = "N", default_value_t = 10)]
    gone_after: u64,
    /// Run the same load this long first, not measured.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    warmup_ms: u64,
    /// Measure this many times: each figure's median and spread.
    #[arg(long, value_name = "N", default_value_t = 1)]
    runs: usize,
    /// Print this run beside an earlier report (a --json file), with the
    /// change of each figure.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// How long to wait for a spawned server to answer.
    #[arg(long, value_name = "MS", default_value_t = 15000)]
    startup_timeout_ms: u64,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML page with the charts to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// No live progress on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Print the spawned server's output.
    #[arg(short, long)]
    verbose: bool,
}

impl BenchArgs {
    /// The options these flags ask for.
    pub fn options(&self) -> BenchOptions {
        let target = match (&self.endpoint, &self.spawn) {
            (_, Some(cmd)) => Target::Spawn(cmd.clone()),
            (Some(ep), None) => Target::Endpoint(ep.clone()),
            (None, None) => unreachable!("clap requires a target"),
        };
        let mut opts = BenchOptions::new(target, self.profile);
        opts.concurrency = self.concurrency;
        opts.load = match self.rate {
            Some(rate) => Load::Open { rate },
            None => Load::Closed {
                window: self.window,
            },
        };
        opts.stop = match (self.requests, self.duration_ms) {
            (_, Some(ms)) => Stop::Duration(Duration::from_millis(ms)),
            (Some(n), None) => Stop::Requests(n),
            (None, None) => Stop::Requests(10_000),
        };
        opts.size = self.size;
        opts.timeout = Duration::from_millis(self.timeout_ms);
        opts.gone_after = self.gone_after;
        opts.warmup = Duration::from_millis(self.warmup_ms);
        opts.runs = self.runs;
        opts.baseline = self.baseline.clone();
        opts.startup_timeout = Duration::from_millis(self.startup_timeout_ms);
        opts.json = self.json.clone();
        opts.html = self.html.clone();
        opts.progress = !self.quiet;
        opts.verbose = self.verbose;
        opts
    }

    /// Runs the command; see the module's doc for the exit status.
    pub fn run(&self) -> ExitCode {
        let opts = self.options();
        let outcome = match bench(&opts) {
            Ok(outcome) => outcome,
            Err(e) => return failed(&e),
        };
        let report = &outcome.report;
        print!("{report}");
        if let (Some(baseline), Some(path)) = (&outcome.baseline, &opts.baseline) {
            println!();
            print!(
                "{}",
                compare::render(baseline, &path.display().to_string(), report, "this run")
            );
        }
        let mut code = report.exit_code();
        for (path, text) in [
            (&opts.json, opts.json.as_ref().map(|_| report.to_json())),
            (&opts.html, opts.html.as_ref().map(|_| html::render(report))),
        ] {
            if let (Some(path), Some(text)) = (path, text) {
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!("plug-conformance: cannot write {}: {e}", path.display());
                    code = code.max(1);
                }
            }
        }
        ExitCode::from(code)
    }
}

fn failed(e: &BenchError) -> ExitCode {
    eprintln!("plug-conformance: {e}");
    match e {
        BenchError::Usage(_) => ExitCode::from(2),
        BenchError::Unreachable {
            reason: super::Unready::Interrupted,
            ..
        } => ExitCode::from(130),
        BenchError::Unreachable { output_tail, .. } => {
            for line in output_tail {
                eprintln!("  server| {line}");
            }
            ExitCode::from(1)
        }
        BenchError::Spawn { .. } | BenchError::Client(_) => ExitCode::from(1),
    }
}

/// Print two bench reports side by side, with the change of each figure.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The earlier report (a `bench --json` file).
    before: PathBuf,
    /// The later report.
    after: PathBuf,
}

impl CompareArgs {
    /// 0 when both reports were read, 2 otherwise.
    pub fn run(&self) -> ExitCode {
        let read = |p: &Path| {
            BenchReport::read(p).map_err(|e| {
                eprintln!("plug-conformance: {e}");
                ExitCode::from(2)
            })
        };
        let (before, after) = match (read(&self.before), read(&self.after)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(code), _) | (_, Err(code)) => return code,
        };
        print!(
            "{}",
            compare::render(
                &before,
                &self.before.display().to_string(),
                &after,
                &self.after.display().to_string()
            )
        );
        ExitCode::SUCCESS
    }
}
