//! `plug-conformance bench`: round-trip latency and throughput of a server,
//! through the plug client, in the manner of wrk2 and ghz.
//!
//! Layout:
//! - `client`: one connection (an rpc or raw plug) and how a request
//!   ends ([`client::Outcome`]);
//! - `load`: closed loop (`--concurrency` x `--window`) and open loop
//!   (`--rate`, latency from the due time), and the shared tally;
//! - `report`: [`BenchReport`], its JSON and terminal forms;
//! - this file: options, reaching or starting the server, warm-up, the
//!   progress bar.

pub mod cli;
mod client;
mod load;
mod report;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub use load::{Load, Stop};
pub use report::{BenchReport, Latency};

use crate::case::{Profile, Thresholds};
use crate::check::{CheckError, Target};
use crate::runner::{wait_ready, RunConfig};
use crate::spawn::Spawned;
use client::Client;
use load::Tally;

/// Everything `bench` takes.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// An endpoint, or a command to start (`Target::PerProfile` is not used).
    pub target: Target,
    pub profile: Profile,
    /// Connections (plugs), each with its own socket.
    pub concurrency: usize,
    pub load: Load,
    pub stop: Stop,
    /// Payload bytes per request (at least 8 in raw mode: the sequence number).
    pub size: usize,
    /// Per request. Default 5000 ms.
    pub timeout: Duration,
    /// Load generated, then discarded, before measuring. Default none.
    pub warmup: Duration,
    /// Wait for a spawned server to answer. Default 15 s.
    pub startup_timeout: Duration,
    /// Worker threads of the client's runtime. Default 1, which leaves the
    /// other cores to the server on a small machine.
    pub threads: usize,
    pub json: Option<PathBuf>,
    /// Draw a progress bar on stderr when it is a terminal.
    pub progress: bool,
    /// Copy a spawned server's output to stderr.
    pub verbose: bool,
}

impl BenchOptions {
    /// 1 connection, 1 in flight, 10 000 requests of 64 bytes.
    pub fn new(target: Target, profile: Profile) -> BenchOptions {
        BenchOptions {
            target,
            profile,
            concurrency: 1,
            load: Load::Closed { window: 1 },
            stop: Stop::Requests(10_000),
            size: 64,
            timeout: Duration::from_millis(5000),
            warmup: Duration::ZERO,
            startup_timeout: Duration::from_secs(15),
            threads: 1,
            json: None,
            progress: false,
            verbose: false,
        }
    }
}

/// Why `bench` could not measure (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Options that do not go together.
    #[error("{0}")]
    Usage(String),
    /// The server could not be started or reached, or a file not written.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The client side could not start.
    #[error("could not start the client: {0}")]
    Client(String),
}

/// Runs the benchmark and writes the JSON report if asked.
pub fn bench(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    if opts.profile == Profile::Raw && opts.size < 8 {
        return Err(BenchError::Usage(
            "--size must be at least 8 with --profile raw (the echo carries a sequence number)"
                .into(),
        ));
    }
    let mut spawned = match &opts.target {
        Target::Spawn(cmd) => {
            Some(
                Spawned::start(cmd, opts.verbose).map_err(|source| CheckError::Spawn {
                    command: cmd.clone(),
                    source,
                })?,
            )
        }
        _ => None,
    };
    let endpoint = match (&opts.target, &spawned) {
        (_, Some(s)) => s.endpoint.clone(),
        (Target::Endpoint(e), None) => e.clone(),
        (Target::PerProfile(list), None) => list
            .iter()
            .find(|(p, _)| *p == opts.profile)
            .map(|(_, e)| e.clone())
            .unwrap_or_default(),
        (Target::Spawn(_), None) => unreachable!("spawned above"),
    };
    let cfg = RunConfig {
        endpoint: endpoint.clone(),
        timeout: opts.timeout,
        thresholds: Thresholds::default(),
        curve: None,
    };
    let limit = if spawned.is_some() {
        opts.startup_timeout
    } else {
        opts.timeout
    };
    let mut exited = || spawned.as_mut().and_then(Spawned::exited);
    if let Err(reason) = wait_ready(&cfg, opts.profile, limit, &mut exited) {
        return Err(BenchError::Check(CheckError::Unreachable {
            endpoint,
            reason,
            output_tail: spawned
                .as_ref()
                .map(Spawned::output_tail)
                .unwrap_or_default(),
        }));
    }
    let report = measure(&endpoint, opts)?;
    drop(spawned);
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(&report).expect("a report serializes");
        std::fs::write(path, text + "\n").map_err(|source| CheckError::File {
            path: path.clone(),
            source,
        })?;
    }
    Ok(report)
}

/// Runs the load against a server that is known to answer.
pub fn measure(endpoint: &str, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| BenchError::Client(e.to_string()))?;
    runtime.block_on(measure_async(endpoint, opts))
}

async fn measure_async(endpoint: &str, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let per_conn = match opts.load {
        Load::Closed { window } => window.max(1),
        // An open loop has no window: allow whatever the rate and the
        // timeout can pile up.
        Load::Open { .. } => 1_000_000,
    };
    let clients = (0..opts.concurrency.max(1))
        .map(|_| Client::open(endpoint, opts.profile, opts.size, opts.timeout, per_conn))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BenchError::Client(e.to_string()))?;
    if !opts.warmup.is_zero() {
        let scratch = Arc::new(Tally::new());
        load::run(
            &clients,
            opts.load,
            Stop::Duration(opts.warmup),
            opts.timeout,
            scratch,
        )
        .await;
    }
    let tally = Arc::new(Tally::new());
    let bar = opts
        .progress
        .then(|| progress_bar(opts.stop, tally.clone()))
        .flatten();
    let start = tokio::time::Instant::now();
    load::run(&clients, opts.load, opts.stop, opts.timeout, tally.clone()).await;
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for c in &clients {
        c.close();
    }
    let ok = tally.ok.load(Ordering::Relaxed);
    let latency = Latency::of(&tally.latency.lock().unwrap_or_else(|p| p.into_inner()));
    let (window, rate) = match opts.load {
        Load::Closed { window } => (Some(window), None),
        Load::Open { rate } => (None, Some(rate)),
    };
    let error_samples = tally
        .error_samples
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(BenchReport {
        endpoint: endpoint.to_owned(),
        profile: opts.profile,
        mode: if rate.is_some() { "open" } else { "closed" },
        concurrency: clients.len(),
        window,
        rate,
        size: opts.size,
        timeout_ms: opts.timeout.as_millis() as u64,
        requests_sent: tally.sent.load(Ordering::Relaxed),
        replies_ok: ok,
        errors: tally.errors.load(Ordering::Relaxed),
        timeouts: tally.timeouts.load(Ordering::Relaxed),
        duration_s: elapsed,
        throughput_msgs_per_s: ok as f64 / elapsed,
        throughput_mb_per_s: (ok as f64 * opts.size as f64) / elapsed / 1e6,
        latency_us: latency,
        error_samples,
    })
}

/// A bar on stderr, updated ten times a second, if stderr is a terminal.
fn progress_bar(stop: Stop, tally: Arc<Tally>) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let (len, style) = match stop {
        Stop::Requests(n) => (n, "{bar:40} {pos}/{len} requests, {per_sec} {msg}"),
        Stop::Duration(d) => (d.as_millis() as u64, "{bar:40} {elapsed}/{duration} {msg}"),
    };
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(style);
    }
    let started = std::time::Instant::now();
    let ticker = bar.clone();
    tokio::spawn(async move {
        while !ticker.is_finished() {
            let done = tally.done();
            match stop {
                Stop::Requests(_) => ticker.set_position(done),
                Stop::Duration(d) => ticker
                    .set_position((started.elapsed().as_millis() as u64).min(d.as_millis() as u64)),
            }
            ticker.set_message(format!(
                "{} errors, {} timeouts",
                tally.errors.load(Ordering::Relaxed),
                tally.timeouts.load(Ordering::Relaxed)
            ));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Some(bar)
}

/// Prints the report, for the command line.
pub fn print(report: &BenchReport, out: &mut dyn Write) -> std::io::Result<()> {
    write!(out, "{report}")
}
