//! `plug-conformance bench`: round-trip latency and throughput of a server,
//! in the manner of wrk2, ghz and oha, with an engine that is not the
//! bottleneck: one OS thread per connection owning a blocking libzmq
//! DEALER, requests built from a byte template, every reply judged.
//!
//! Layout:
//! - `options`: [`BenchOptions`] and the checks made before anything starts;
//! - `cli`: the flags of `bench` and `compare`;
//! - `wire`: the bytes of a request and the judgement of its reply;
//! - `inflight`: a connection's requests in flight, their deadlines;
//! - `conn`: one connection's thread, sleeping in `ppoll` between events;
//! - `control`: stopping the threads at once, SIGINT and SIGTERM;
//! - `phase`: the threads of one run and the coordinator that watches them
//!   (server gone, interrupted, progress);
//! - `tally`, `series`: counts, per-second buckets, the latency histogram;
//! - `ready`: waiting for the server to answer;
//! - `cpu`, `saturation`: the client's own CPU, and when the figures
//!   measure the client rather than the server;
//! - `report`, `text`, `html`, `plot`, `compare`: the JSON report, its
//!   terminal and HTML forms, the charts (shared with plug-bench), and two
//!   reports side by side;
//! - this file: reaching or starting the server, warm-up, the runs.

pub mod cli;
pub mod compare;
mod conn;
mod control;
mod cpu;
mod html;
mod inflight;
mod options;
mod phase;
pub mod plot;
mod progress;
mod ready;
mod report;
mod saturation;
mod series;
mod tally;
mod text;
mod wire;

use std::sync::{mpsc, Arc};

pub use options::{BenchOptions, Checked, Load, Stop, Target, UsageError};
pub use ready::Unready;
pub use report::{
    BenchReport, Buckets, ClientCpu, Figures, Latency, Range, ReadError, Settings, Spread, StopInfo,
};
pub use series::Second;

use crate::spawn::Spawned;
use conn::{Conn, Event};
use control::Interrupts;
use phase::{Coordination, Ending, PhaseSpec};
use progress::Progress;
use tally::new_histogram;
use wire::Wire;

/// Why `bench` measured nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// An option that cannot be used (exit status 2).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The server command could not be started.
    #[error("could not start `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// The server did not answer as it should before the run.
    #[error("{endpoint}: {reason}")]
    Unreachable {
        endpoint: String,
        reason: Unready,
        /// The last lines a spawned server printed.
        output_tail: Vec<String>,
    },
    /// The client side could not start.
    #[error("could not start the client: {0}")]
    Client(String),
}

/// What `bench` produced: the report, and the baseline it was asked to be
/// compared with.
pub struct Outcome {
    pub report: BenchReport,
    pub baseline: Option<BenchReport>,
}

/// Checks the options, reaches or starts the server, runs the warm-up and
/// the runs, and stops on its own when the server is gone or on SIGINT or
/// SIGTERM. Writes nothing: see [`cli`].
pub fn bench(opts: &BenchOptions) -> Result<Outcome, BenchError> {
    let checked = opts.check()?;
    let (tx, rx) = mpsc::channel();
    let signal_tx = tx.clone();
    let interrupts = Interrupts::catch(move |_| {
        let _ = signal_tx.send(Event::Signal);
    })
    .map_err(|e| BenchError::Client(format!("cannot catch signals: {e}")))?;
    let mut spawned = match &opts.target {
        Target::Spawn(cmd) => {
            Some(
                Spawned::start(cmd, opts.verbose).map_err(|source| BenchError::Spawn {
                    command: cmd.clone(),
                    source,
                })?,
            )
        }
        Target::Endpoint(_) => None,
    };
    let endpoint = match (&opts.target, &spawned) {
        (_, Some(s)) => s.endpoint.clone(),
        (Target::Endpoint(e), None) => e.clone(),
        (Target::Spawn(_), None) => unreachable!("spawned above"),
    };
    let limit = if spawned.is_some() {
        opts.startup_timeout
    } else {
        opts.timeout
    };
    let mut exited = || spawned.as_mut().and_then(Spawned::exited);
    let engine = Engine::new(&endpoint, opts);
    if let Err(reason) = ready::wait(
        &engine.ctx,
        &endpoint,
        &engine.wire,
        limit,
        &mut exited,
        &interrupts,
    ) {
        return Err(BenchError::Unreachable {
            endpoint,
            reason,
            output_tail: spawned
                .as_ref()
                .map(Spawned::output_tail)
                .unwrap_or_default(),
        });
    }
    let mut progress = Progress::new(opts.progress);
    let mut co = Coordination {
        events: (tx, &rx),
        interrupts: &interrupts,
        exited: &mut exited,
        progress: &mut progress,
    };
    let report = engine.run(opts, &mut co)?;
    progress.finish();
    drop(spawned);
    Ok(Outcome {
        report,
        baseline: checked.baseline,
    })
}

/// Runs the load against a server that is known to answer, with no
/// signal handling, progress or files: for a program that measures many
/// servers (plug-bench). `opts.target` is not used.
pub fn measure(endpoint: &str, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let mut opts = opts.clone();
    opts.target = Target::Endpoint(endpoint.to_owned());
    opts.json = None;
    opts.html = None;
    opts.baseline = None;
    opts.check()?;
    let (tx, rx) = mpsc::channel();
    let interrupts = Interrupts::none();
    let mut progress = Progress::new(false);
    let mut never = || None;
    let mut co = Coordination {
        events: (tx, &rx),
        interrupts: &interrupts,
        exited: &mut never,
        progress: &mut progress,
    };
    Engine::new(endpoint, &opts).run(&opts, &mut co)
}

/// The context, the request template and the connections.
struct Engine {
    ctx: zmq::Context,
    wire: Arc<Wire>,
    endpoint: String,
}

impl Engine {
    fn new(endpoint: &str, opts: &BenchOptions) -> Engine {
        // Each connection is a DEALER and its monitor's two ends: the
        // default limit of 1023 sockets holds MAX_CONCURRENCY of them. One
        // I/O thread per connection, up to half the cores: the other half
        // runs the connection threads.
        let ctx = zmq::Context::new();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let io_threads = opts.concurrency.min(cores / 2).max(1);
        let _ = ctx.set_io_threads(i32::try_from(io_threads).unwrap_or(1));
        Engine {
            ctx,
            wire: Arc::new(Wire::new(opts.profile, opts.size)),
            endpoint: endpoint.to_owned(),
        }
    }

    fn run(&self, opts: &BenchOptions, co: &mut Coordination) -> Result<BenchReport, BenchError> {
        let client = |e: std::io::Error| BenchError::Client(e.to_string());
        let mut conns = (0..opts.concurrency)
            .map(|i| Conn::open(&self.ctx, i, &self.endpoint, self.wire.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BenchError::Client(format!("libzmq: {e}")))?;
        let spec = |stop, record, run| PhaseSpec {
            load: opts.load,
            stop,
            timeout: opts.timeout,
            gone_after: opts.gone_after,
            record,
            run,
        };
        let mut runs = Vec::new();
        let mut loads = Vec::new();
        let mut series = Vec::new();
        let mut latency = new_histogram();
        let mut samples: Vec<String> = Vec::new();
        let mut stopped_early = false;
        if !opts.warmup.is_zero() {
            co.progress.start("warm-up: ");
            let warm = phase::run(&mut conns, &spec(Stop::Duration(opts.warmup), false, 0), co)
                .map_err(client)?;
            if warm.ending != Ending::Completed {
                stopped_early = true;
                runs.push(report::Figures::of(&warm, opts.size));
                loads.push(warm.send_span);
                samples.extend(warm.samples);
            }
        }
        for run in 1..=opts.runs {
            if stopped_early {
                break;
            }
            let label = if opts.runs > 1 {
                format!("run {run}/{}: ", opts.runs)
            } else {
                String::new()
            };
            co.progress.start(&label);
            let result = phase::run(&mut conns, &spec(opts.stop, true, run), co).map_err(client)?;
            stopped_early = result.ending != Ending::Completed;
            runs.push(report::Figures::of(&result, opts.size));
            loads.push(result.send_span);
            series.extend(result.series);
            let _ = latency.add(&result.latency);
            for s in result.samples {
                if samples.len() < conn::MAX_SAMPLES && !samples.contains(&s) {
                    samples.push(s);
                }
            }
        }
        let runs_load: Vec<saturation::RunLoad> = runs
            .iter()
            .zip(&loads)
            .map(|(figures, &send_span)| saturation::RunLoad { figures, send_span })
            .collect();
        let warnings = saturation::warnings(opts.load, &runs_load);
        Ok(BenchReport::new(
            self.settings(opts),
            runs,
            warnings,
            samples,
            series,
            &latency,
        ))
    }

    fn settings(&self, opts: &BenchOptions) -> Settings {
        let (window, rate) = match opts.load {
            Load::Closed { window } => (Some(window), None),
            Load::Open { rate } => (None, Some(rate)),
        };
        let (requests, duration_ms) = match opts.stop {
            Stop::Requests(n) => (Some(n), None),
            Stop::Duration(d) => (None, Some(d.as_millis() as u64)),
        };
        Settings {
            endpoint: self.endpoint.clone(),
            profile: opts.profile,
            mode: if rate.is_some() { "open" } else { "closed" }.into(),
            concurrency: opts.concurrency,
            window,
            rate,
            size: opts.size,
            timeout_ms: opts.timeout.as_millis() as u64,
            requests,
            duration_ms,
            warmup_ms: opts.warmup.as_millis() as u64,
        }
    }
}
