//! The flags of `plug-conformance bench` and what the command does with
//! them; `main.rs` only dispatches here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{bench, print, BenchError, BenchOptions, Load, Stop};
use crate::case::Profile;
use crate::check::{CheckError, Target};

/// Load a server through the plug client and report latency percentiles
/// and throughput.
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
    /// Connections, each its own plug and socket.
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
    /// Run the same load this long first, not measured.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    warmup_ms: u64,
    /// Worker threads of the client.
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// How long to wait for a spawned server to answer.
    #[arg(long, value_name = "MS", default_value_t = 15000)]
    startup_timeout_ms: u64,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// No progress bar, even on a terminal.
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
        opts.warmup = Duration::from_millis(self.warmup_ms);
        opts.threads = self.threads;
        opts.startup_timeout = Duration::from_millis(self.startup_timeout_ms);
        opts.json = self.json.clone();
        opts.progress = !self.quiet;
        opts.verbose = self.verbose;
        opts
    }

    /// Runs the command: 0 when every request got its reply, 1 when some
    /// failed or timed out, 2 when nothing could be measured.
    pub fn run(&self) -> ExitCode {
        if matches!(self.rate, Some(r) if !(r > 0.0 && r.is_finite())) {
            eprintln!("plug-conformance: --rate must be a positive number");
            return ExitCode::from(2);
        }
        match bench(&self.options()) {
            Ok(report) => {
                let _ = print(&report, &mut std::io::stdout());
                ExitCode::from(report.exit_code())
            }
            Err(e) => {
                eprintln!("plug-conformance: {e}");
                if let BenchError::Check(CheckError::Unreachable { output_tail, .. }) = &e {
                    for line in output_tail {
                        eprintln!("  server| {line}");
                    }
                }
                ExitCode::from(2)
            }
        }
    }
}
