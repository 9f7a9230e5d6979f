//! What a case is: an id, the numbered PROTOCOL.md requirements it checks
//! and on which paths, how binding it is, and the function that runs it.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::trace::Trace;

/// The kind of server a case talks to (PROTOCOL.md §4, §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// An rpc-mode (JSON request/reply) server.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Requirement {
    /// Breaking it is a `fail`.
    Must,
    /// Breaking it is `non-strict` (a failure with `--strict`).
    Should,
    /// An optional behaviour: absent is `unimplemented` (or `info`), present
    /// but wrong is a `fail`.
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

/// A way a reply can travel, each a place where a rule can break
/// (the columns of `list --coverage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// A success reply (`result`).
    Success,
    /// An error reply (`error`).
    Error,
    /// A reply sent later, after `sleep` (§6.3).
    Deferred,
    /// A bare request `[body]` (§3.1).
    Bare,
    /// A delimited request `["", body]` from a DEALER (§3.2).
    Delimited,
    /// A real REQ socket (§3.2).
    Req,
    /// A client that sets its own routing id (§3.3).
    RoutingId,
    /// Several peers at once (§2.5).
    SeveralPeers,
}

impl Path {
    /// Every path, in column order.
    pub const ALL: [Path; 8] = [
        Path::Success,
        Path::Error,
        Path::Deferred,
        Path::Bare,
        Path::Delimited,
        Path::Req,
        Path::RoutingId,
        Path::SeveralPeers,
    ];

    /// The name used in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Success => "success",
            Path::Error => "error",
            Path::Deferred => "deferred",
            Path::Bare => "bare",
            Path::Delimited => "delimited",
            Path::Req => "req",
            Path::RoutingId => "routing-id",
            Path::SeveralPeers => "several-peers",
        }
    }
}

/// What a case found, before its requirement level turns it into an outcome.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Verdict {
    Pass,
    Fail(Box<Failure>),
    Unimplemented { method: String },
    Info { detail: String },
}

/// A broken rule, as the report shows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Failure {
    pub expected: String,
    pub actual: String,
    /// The usual cause, for the author.
    pub hint: Option<String>,
    /// Set when the broken rule is a SHOULD although the case checks MUSTs
    /// too: the outcome is then `non-strict`.
    pub should: bool,
}

impl Verdict {
    /// Adds a hint to a failure (other verdicts are unchanged).
    pub fn hint(mut self, hint: impl Into<String>) -> Verdict {
        if let Verdict::Fail(f) = &mut self {
            if f.hint.is_none() {
                f.hint = Some(hint.into());
            }
        }
        self
    }

    /// Sets a failure's hint, replacing the judge's generic one (for a case
    /// that knows the likelier cause).
    pub fn replace_hint(mut self, hint: impl Into<String>) -> Verdict {
        if let Verdict::Fail(f) = &mut self {
            f.hint = Some(hint.into());
        }
        self
    }

    /// Marks a failure as breaking a SHOULD.
    pub fn should(mut self) -> Verdict {
        if let Verdict::Fail(f) = &mut self {
            f.should = true;
        }
        self
    }
}

/// A case's result so far: `Err` carries the verdict that ends the case
/// early, so checks chain with `?`.
pub(crate) type Step<T> = Result<T, Verdict>;

/// A failed check.
pub(crate) fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Verdict {
    Verdict::Fail(Box::new(Failure {
        expected: expected.into(),
        actual: actual.into(),
        hint: None,
        should: false,
    }))
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

/// The server's socket type, from the `Socket-Type` metadata of the
/// messages it sends (ZMTP 3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum SocketKind {
    #[default]
    Unknown,
    Router,
    /// One plug at a time (§2.1-c): cases with several peers do not apply.
    Dealer,
    Other(String),
}

impl SocketKind {
    pub fn from_metadata(name: &str) -> SocketKind {
        match name {
            "ROUTER" => SocketKind::Router,
            "DEALER" => SocketKind::Dealer,
            other => SocketKind::Other(other.to_owned()),
        }
    }
}

/// What the run learned about the server before the cases.
#[derive(Clone, Debug)]
pub(crate) struct ServerFacts {
    pub socket: SocketKind,
    /// Time per request when requests are pipelined (measured by the probe).
    pub service: Duration,
    /// Whether any message came back to the probe.
    pub answered: bool,
}

impl Default for ServerFacts {
    fn default() -> ServerFacts {
        ServerFacts {
            socket: SocketKind::Unknown,
            service: Duration::from_micros(100),
            answered: false,
        }
    }
}

/// Notes a case adds to its result: freedoms the server used (pushes,
/// -32001 above the floor), and SHOULDs broken along the way.
#[derive(Clone, Default)]
pub(crate) struct Notes(Arc<Mutex<NoteBuf>>);

#[derive(Default)]
struct NoteBuf {
    details: Vec<(String, u64)>,
    soft: Option<Failure>,
}

impl Notes {
    /// Adds a detail line; the same line twice is counted, not repeated.
    pub fn detail(&self, text: impl Into<String>) {
        let text = text.into();
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match b.details.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None => b.details.push((text, 1)),
        }
    }

    /// Records a broken SHOULD; the case is `non-strict` unless it fails
    /// outright. The first one is kept.
    pub fn soft_fail(&self, v: Verdict) {
        if let Verdict::Fail(f) = v {
            let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if b.soft.is_none() {
                b.soft = Some(*f);
            }
        }
    }

    pub fn details(&self) -> Vec<String> {
        let b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        b.details
            .iter()
            .map(|(t, n)| {
                if *n > 1 {
                    format!("{t} (x{n})")
                } else {
                    t.clone()
                }
            })
            .collect()
    }

    pub fn soft(&self) -> Option<Failure> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .soft
            .clone()
    }
}

/// Everything a running case may use.
pub(crate) struct Ctx {
    pub endpoint: String,
    /// How long to wait for any one expected message.
    pub timeout: Duration,
    pub trace: Trace,
    pub notes: Notes,
    pub thresholds: Thresholds,
    /// CURVE settings every connection uses (`--server-key`), with the
    /// client key pair filled in; `None` is plain text.
    pub curve: Option<plug::CurveClient>,
    /// What every connection of the case speaks ZMTP with (`--transport`).
    pub transport: plug::transport::Transport,
    pub server: ServerFacts,
    /// Requests the case's connections left unanswered when they closed:
    /// a backlog the server may still be working through.
    pub left_behind: Arc<AtomicU64>,
    /// What the probe case learned about the server, for the later cases.
    pub learned: Arc<Mutex<Option<ServerFacts>>>,
}

impl Ctx {
    /// Whether the server serves one peer at a time (a DEALER socket).
    pub fn one_peer_only(&self) -> bool {
        self.server.socket == SocketKind::Dealer
    }

    /// A bulk count: `max`, or fewer (not below `min`) when the server is
    /// slow, so that a case's bulk takes about 3 s of the server's time.
    pub fn bulk(&self, max: u64, min: u64) -> u64 {
        let per = self.server.service.as_secs_f64().max(1e-7);
        ((3.0 / per) as u64).clamp(min, max)
    }
}

/// How long a case may take: `waits` reply timeouts, `bulk` requests at
/// the measured service time (three times over), and `fixed` time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub waits: u32,
    pub bulk: u64,
    pub fixed: Duration,
}

/// One numbered conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Dotted id, family first: `rpc.id.int-zero`.
    pub id: &'static str,
    /// The server kind it runs against.
    pub profile: Profile,
    /// How binding the case's main point is.
    pub requirement: Requirement,
    /// The numbered PROTOCOL.md requirements it checks, main one first.
    pub rules: &'static [&'static str],
    /// The paths its requests travel (for the coverage table).
    pub paths: &'static [Path],
    /// One line saying what is checked.
    pub summary: &'static str,
    /// Needs two peers connected at once (not applicable to a DEALER server).
    pub several_peers: bool,
    /// Uses a REQ socket, which talks only to ROUTER and REP sockets (not
    /// applicable to a DEALER server).
    pub req_client: bool,
    pub(crate) budget: Budget,
    pub(crate) run: fn(&Ctx) -> Step<Verdict>,
}

impl Case {
    /// The family: the id without its last segment (`rpc.id`).
    pub fn family(&self) -> &'static str {
        family_of(self.id)
    }

    /// The PROTOCOL.md section of the main requirement (`5.2`).
    pub fn section(&self) -> &'static str {
        self.rules
            .first()
            .map_or("", |r| crate::spec::section_of(r))
    }

    /// `Some` for the `curve.*` cases, which run only against a CURVE server.
    pub fn family_of_curve(&self) -> Option<&'static str> {
        self.id.starts_with("curve.").then(|| self.family())
    }

    /// The wall-clock limit for the whole case.
    pub(crate) fn deadline(&self, timeout: Duration, service: Duration) -> Duration {
        let bulk = service.saturating_mul(u32::try_from(self.budget.bulk).unwrap_or(u32::MAX));
        timeout.saturating_mul(self.budget.waits + 2) + self.budget.fixed + bulk * 3
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
