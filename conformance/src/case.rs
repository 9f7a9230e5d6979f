//! What a case is: an id, the PROTOCOL.md section it checks, how binding
//! that section is, and the function that runs it.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::trace::Trace;

/// The kind of server a case talks to (PROTOCOL.md §4, §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A rpc-mode (JSON request/reply) server.
    Rpc,
    /// A raw echo server.
    Raw,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Rpc => "rpc",
            Profile::Raw => "raw",
        })
    }
}

/// How binding the checked rule is (RFC 2119 words of PROTOCOL.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Requirement {
    /// Breaking it is a `fail`.
    Must,
    /// Breaking it is `non-strict` (a failure with `--strict`).
    Should,
    /// An optional method (§6): absent is `unimplemented`, present but wrong
    /// is a `fail`.
    May,
    /// A measurement: `info`, or a `fail` when a threshold is given and missed.
    Info,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Requirement::Must => "MUST",
            Requirement::Should => "SHOULD",
            Requirement::May => "MAY",
            Requirement::Info => "INFO",
        })
    }
}

/// What a case found, before its requirement level turns it into an outcome.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Verdict {
    Pass,
    Fail { expected: String, actual: String },
    Unimplemented { method: String },
    Info { detail: String },
}

/// A case's result so far: `Err` carries the verdict that ends the case
/// early, so checks chain with `?`.
pub(crate) type Step<T> = Result<T, Verdict>;

/// A failed check.
pub(crate) fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Verdict {
    Verdict::Fail {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Fails with `expected`/`actual` unless `ok`.
pub(crate) fn ensure(
    ok: bool,
    expected: impl Into<String>,
    actual: impl FnOnce() -> String,
) -> Step<()> {
    if ok {
        Ok(())
    } else {
        Err(fail(expected, actual()))
    }
}

/// Limits that turn `perf.*` measurements into pass or fail.
#[derive(Clone, Copy, Debug, Default)]
pub struct Thresholds {
    /// Minimum requests (or messages) per second.
    pub min_throughput: Option<f64>,
    /// Maximum 99th percentile round-trip latency in microseconds.
    pub max_p99_us: Option<u64>,
}

/// Everything a running case may use.
pub(crate) struct Ctx {
    pub endpoint: String,
    /// How long to wait for any one expected message.
    pub timeout: Duration,
    pub trace: Trace,
    pub thresholds: Thresholds,
    /// CURVE settings every connection uses (`--server-key`), with the
    /// client key pair filled in; `None` is plain text.
    pub curve: Option<plug::CurveClient>,
}

/// One numbered conformance case.
pub struct Case {
    /// Dotted id, family first: `rpc.id.int-zero`.
    pub id: &'static str,
    /// The server kind it runs against.
    pub profile: Profile,
    /// How binding the rule is.
    pub requirement: Requirement,
    /// The PROTOCOL.md section it checks, e.g. `5.2`.
    pub section: &'static str,
    /// One line saying what is checked.
    pub summary: &'static str,
    /// Time the case may take beyond four reply timeouts (bulk and large
    /// cases need more).
    pub(crate) extra: Duration,
    pub(crate) run: fn(&Ctx) -> Step<Verdict>,
}

impl Case {
    /// The family: the id without its last segment (`rpc.id`).
    pub fn family(&self) -> &'static str {
        family_of(self.id)
    }

    /// `Some` for the `curve.*` cases, which run only against a CURVE server.
    pub fn family_of_curve(&self) -> Option<&'static str> {
        self.id.starts_with("curve.").then(|| self.family())
    }

    /// The wall-clock limit for the whole case.
    pub(crate) fn deadline(&self, timeout: Duration) -> Duration {
        timeout * 4 + self.extra
    }
}

/// `rpc.id.int-zero` -> `rpc.id`.
pub fn family_of(id: &str) -> &str {
    id.rsplit_once('.').map_or(id, |(f, _)| f)
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
