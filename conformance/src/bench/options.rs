//! What a `bench` run is asked to do, and the checks that refuse a bad
//! request before anything starts: every option in range, the requests in
//! flight within the memory available, every output file writable, the
//! baseline readable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::report::BenchReport;
use crate::case::Profile;

/// The server to measure.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Target {
    /// A server that is already running.
    Endpoint(String),
    /// A command to start with `sh -c`, `{endpoint}` replaced by a free
    /// loopback endpoint; stopped afterwards.
    Spawn(String),
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Stop {
    /// After this many requests have been sent and have ended.
    Requests(u64),
    /// No new request after this long; those in flight still end.
    Duration(Duration),
}

/// How load is generated.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Load {
    /// `window` requests in flight on each connection, back to back.
    Closed { window: usize },
    /// `rate` requests per second in total, due at fixed times whatever the
    /// server does, spread over the connections.
    Open { rate: f64 },
}

/// Everything `bench` takes.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub target: Target,
    pub profile: Profile,
    /// Connections, each a socket and a thread of its own. Default 1.
    pub concurrency: usize,
    /// Default: closed loop, 1 in flight.
    pub load: Load,
    /// Default: 10 000 requests.
    pub stop: Stop,
    /// Payload bytes per request (at least 8 in raw mode: the sequence
    /// number). Default 64.
    pub size: usize,
    /// Per request. Default 5000 ms.
    pub timeout: Duration,
    /// Load generated, then discarded, before the first run. Default none.
    pub warmup: Duration,
    /// Wait for a spawned server to answer. Default 15 s.
    pub startup_timeout: Duration,
    /// Measured runs, for the median and spread of each figure. Default 1.
    pub runs: usize,
    /// The server is gone after this many timeouts in a row with nothing
    /// heard for longer than the timeout. Default 10.
    pub gone_after: u64,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// A report to compare this run with.
    pub baseline: Option<PathBuf>,
    /// Live progress on stderr (a line redrawn on a terminal, a line a
    /// second otherwise). Default off.
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
            runs: 1,
            gone_after: 10,
            json: None,
            html: None,
            baseline: None,
            progress: false,
            verbose: false,
        }
    }
}

/// The most connections: each is a thread and three libzmq sockets (the
/// DEALER and its monitor's two ends), within libzmq's default limit of
/// 1023 sockets.
pub const MAX_CONCURRENCY: usize = 256;
/// The most requests in flight per connection.
pub const MAX_WINDOW: usize = 1_000_000;
/// The most runs.
pub const MAX_RUNS: usize = 1000;

/// An option that cannot be used, named as on the command line.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{option}: {message}")]
pub struct UsageError {
    pub option: &'static str,
    pub message: String,
}

fn usage(option: &'static str, message: impl Into<String>) -> UsageError {
    UsageError {
        option,
        message: message.into(),
    }
}

/// What the checks read while checking.
#[derive(Debug)]
pub struct Checked {
    pub baseline: Option<BenchReport>,
}

impl BenchOptions {
    /// Every check that can be made before anything starts.
    pub fn check(&self) -> Result<Checked, UsageError> {
        self.check_ranges()?;
        self.check_memory(available_memory())?;
        match &self.target {
            Target::Endpoint(ep) => check_endpoint(ep)?,
            Target::Spawn(cmd) if !cmd.contains("{endpoint}") => {
                return Err(usage(
                    "--spawn",
                    "the command must contain {endpoint}, where the server is told to bind",
                ))
            }
            Target::Spawn(_) => {}
        }
        for (option, path) in [("--json", &self.json), ("--html", &self.html)] {
            if let Some(path) = path {
                check_writable(option, path)?;
            }
        }
        let baseline = match &self.baseline {
            Some(path) => {
                Some(BenchReport::read(path).map_err(|e| usage("--baseline", e.to_string()))?)
            }
            None => None,
        };
        Ok(Checked { baseline })
    }

    fn check_ranges(&self) -> Result<(), UsageError> {
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(usage(
                "--concurrency",
                format!("must be 1 to {MAX_CONCURRENCY} (got {})", self.concurrency),
            ));
        }
        match self.load {
            Load::Closed { window } if window == 0 || window > MAX_WINDOW => {
                return Err(usage(
                    "--window",
                    format!("must be 1 to {MAX_WINDOW} (got {window})"),
                ))
            }
            Load::Open { rate } if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) => {
                return Err(usage(
                    "--rate",
                    format!("must be a number of requests per second above 0 and at most 1e9 (got {rate})"),
                ))
            }
            _ => {}
        }
        match self.stop {
            Stop::Requests(0) => return Err(usage("--requests", "must be at least 1 (got 0)")),
            Stop::Duration(d) if d.is_zero() => {
                return Err(usage("--duration-ms", "must be at least 1 (got 0)"))
            }
            _ => {}
        }
        if self.profile == Profile::Raw && self.size < 8 {
            return Err(usage(
                "--size",
                format!(
                    "must be at least 8 with --profile raw: the echo carries a sequence number (got {})",
                    self.size
                ),
            ));
        }
        if self.timeout.is_zero() {
            return Err(usage("--timeout-ms", "must be at least 1 (got 0)"));
        }
        if self.startup_timeout.is_zero() {
            return Err(usage("--startup-timeout-ms", "must be at least 1 (got 0)"));
        }
        if self.runs == 0 || self.runs > MAX_RUNS {
            return Err(usage(
                "--runs",
                format!("must be 1 to {MAX_RUNS} (got {})", self.runs),
            ));
        }
        if self.gone_after == 0 {
            return Err(usage("--gone-after", "must be at least 1 (got 0)"));
        }
        Ok(())
    }

    /// The requests in flight at once, at most: a window per connection, or
    /// in an open loop whatever the rate piles up within one timeout.
    fn max_in_flight(&self) -> f64 {
        let limit = match self.load {
            Load::Closed { window } => window as f64 * self.concurrency as f64,
            Load::Open { rate } => (rate * self.timeout.as_secs_f64()).ceil(),
        };
        match self.stop {
            Stop::Requests(n) => limit.min(n as f64),
            Stop::Duration(_) => limit,
        }
    }

    /// Each request in flight is held twice in this process (libzmq's
    /// queues out and the echo coming back).
    fn check_memory(&self, available: Option<u64>) -> Result<(), UsageError> {
        let Some(available) = available else {
            return Ok(());
        };
        let need = 2.0 * (self.size as f64 + 64.0) * self.max_in_flight();
        if need > available as f64 {
            let (option, shape) = match self.load {
                Load::Closed { window } => (
                    "--size",
                    format!(
                        "--size {} x --window {window} x --concurrency {}",
                        self.size, self.concurrency
                    ),
                ),
                Load::Open { rate } => (
                    "--size",
                    format!(
                        "--size {} x --rate {rate} x --timeout-ms {}",
                        self.size,
                        self.timeout.as_millis()
                    ),
                ),
            };
            return Err(usage(
                option,
                format!(
                    "{shape} needs about {} for the requests in flight; {} of memory is available",
                    bytes(need),
                    bytes(available as f64)
                ),
            ));
        }
        Ok(())
    }
}

/// `MemAvailable` of `/proc/meminfo`, where there is one.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut n = n;
    let mut unit = 0;
    while n >= 1000.0 && unit + 1 < UNITS.len() {
        n /= 1000.0;
        unit += 1;
    }
    format!("{n:.1} {}", UNITS[unit])
}

/// libzmq accepts the endpoint (`tcp://host:port`, `ipc://path`, ...).
fn check_endpoint(endpoint: &str) -> Result<(), UsageError> {
    let ctx = zmq::Context::new();
    let result = ctx.socket(zmq::DEALER).and_then(|s| {
        s.set_linger(0)?;
        s.connect(endpoint)
    });
    result.map_err(|e| {
        usage(
            "ENDPOINT",
            format!("`{endpoint}` is not an endpoint libzmq can connect to ({e}); e.g. tcp://127.0.0.1:5555"),
        )
    })
}

/// The file can be written: it exists and opens for writing, or it can be
/// created (and is removed again).
fn check_writable(option: &'static str, path: &Path) -> Result<(), UsageError> {
    let fail = |e: std::io::Error| usage(option, format!("cannot write {}: {e}", path.display()));
    if path.is_dir() {
        return Err(usage(option, format!("{} is a directory", path.display())));
    }
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(fail)?;
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(fail)?;
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> BenchOptions {
        BenchOptions::new(Target::Endpoint("tcp://127.0.0.1:1".into()), Profile::Rpc)
    }

    fn refused(o: &BenchOptions) -> &'static str {
        o.check().expect_err("refused").option
    }

    #[test]
    fn every_range_names_its_option() {
        let mut o = opts();
        o.concurrency = 0;
        assert_eq!(refused(&o), "--concurrency");
        let mut o = opts();
        o.load = Load::Closed { window: 0 };
        assert_eq!(refused(&o), "--window");
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut o = opts();
            o.load = Load::Open { rate };
            assert_eq!(refused(&o), "--rate");
        }
        let mut o = opts();
        o.stop = Stop::Requests(0);
        assert_eq!(refused(&o), "--requests");
        let mut o = opts();
        o.stop = Stop::Duration(Duration::ZERO);
        assert_eq!(refused(&o), "--duration-ms");
        let mut o = opts();
        o.timeout = Duration::ZERO;
        assert_eq!(refused(&o), "--timeout-ms");
        let mut o = opts();
        o.runs = 0;
        assert_eq!(refused(&o), "--runs");
        let mut o = opts();
        o.profile = Profile::Raw;
        o.size = 7;
        assert_eq!(refused(&o), "--size");
        let mut o = opts();
        o.target = Target::Endpoint("nonsense".into());
        assert_eq!(refused(&o), "ENDPOINT");
        let mut o = opts();
        o.target = Target::Spawn("./server".into());
        assert_eq!(refused(&o), "--spawn");
        assert!(opts().check().is_ok());
    }

    #[test]
    fn memory_counts_size_window_and_connections() {
        let mut o = opts();
        o.size = 1 << 20;
        o.load = Load::Closed { window: 100 };
        o.concurrency = 10;
        // 1000 requests of 1 MiB, twice: about 2.1 GB.
        let err = o.check_memory(Some(1 << 30)).unwrap_err();
        assert_eq!(err.option, "--size");
        assert!(
            err.message.contains("--window 100 x --concurrency 10"),
            "{err}"
        );
        assert!(o.check_memory(Some(4 << 30)).is_ok());
        // A run of 10 requests never has more than 10 in flight.
        o.stop = Stop::Requests(10);
        assert!(o.check_memory(Some(1 << 30)).is_ok());
        // An open loop holds what its rate sends within a timeout.
        let mut o = opts();
        o.size = 1 << 20;
        o.load = Load::Open { rate: 1000.0 };
        o.stop = Stop::Duration(Duration::from_secs(60));
        assert!(o.check_memory(Some(1 << 30)).is_err());
    }

    #[test]
    fn output_files_must_be_writable() {
        let dir = std::env::temp_dir().join(format!("bench-options-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let new = dir.join("new.json");
        assert!(check_writable("--json", &new).is_ok());
        assert!(!new.exists(), "the probe leaves nothing behind");
        let err = check_writable("--json", Path::new("/nonexistent/x.json")).unwrap_err();
        assert_eq!(err.option, "--json");
        assert!(check_writable("--html", &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
