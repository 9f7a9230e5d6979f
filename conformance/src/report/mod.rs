//! What a run found, and the formats it is written in: the terminal
//! ([`terminal`]), JSON (this module, schema in the crate README), JUnit XML
//! ([`junit`]) and a self-contained HTML page ([`html`]).

pub mod html;
pub mod junit;
pub mod terminal;

use serde::Serialize;

use crate::case::{Profile, Requirement};

/// The graded result of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The rule holds.
    Pass,
    /// A MUST (or a given threshold, or a present optional method) is broken.
    Fail,
    /// A SHOULD is broken; a failure with `--strict`.
    NonStrict,
    /// An optional method (§6) the case needs answered -32601.
    Unimplemented,
    /// A measurement, or a freedom the server used.
    Info,
    /// Not run: the server had crashed or stopped answering.
    NotRun,
}

impl Outcome {
    /// The word used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NonStrict => "non-strict",
            Outcome::Unimplemented => "unimplemented",
            Outcome::Info => "info",
            Outcome::NotRun => "not-run",
        }
    }

    /// Whether the case found a broken rule.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::NonStrict)
    }
}

/// One case in a report.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub family: String,
    pub profile: Profile,
    pub requirement: Requirement,
    pub section: String,
    /// The numbered PROTOCOL.md requirements the case checks.
    pub rules: Vec<String>,
    pub summary: String,
    pub outcome: Outcome,
    /// What the rule demands; `null` unless the case failed.
    pub expected: Option<String>,
    /// What came back; `null` unless the case failed.
    pub actual: Option<String>,
    /// The usual cause of such a failure; `null` when none is known.
    pub hint: Option<String>,
    /// A measurement, a missing optional method, a freedom the server used,
    /// or why the case did not run.
    pub detail: Option<String>,
    pub duration_ms: u64,
    /// Listed in `--expected-failures`.
    pub expected_failure: bool,
    /// The wire trace: `A -> ...` sent, `A <- ...` received, `-- ...` notes.
    pub trace: Vec<String>,
    /// What a spawned server printed while the case ran (failed cases only).
    pub server_output: Vec<String>,
}

/// Counts over the cases of a report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    /// `fail` outcomes not listed as expected failures.
    pub failed: usize,
    /// `non-strict` outcomes not listed as expected failures.
    pub non_strict: usize,
    pub unimplemented: usize,
    pub info: usize,
    /// Cases not run because the server had crashed or stopped answering.
    pub not_run: usize,
    /// `fail` or `non-strict` outcomes listed as expected failures.
    pub expected_failures: usize,
    /// Cases listed as expected failures that passed (counted in `passed` too).
    pub unexpected_passes: usize,
    pub total: usize,
}

impl Summary {
    /// Counts `cases`.
    pub fn of(cases: &[CaseResult]) -> Summary {
        let mut s = Summary {
            total: cases.len(),
            ..Summary::default()
        };
        for c in cases {
            match (c.outcome, c.expected_failure) {
                (o, true) if o.is_failure() => s.expected_failures += 1,
                (Outcome::Pass, true) => {
                    s.passed += 1;
                    s.unexpected_passes += 1;
                }
                (Outcome::Pass, false) => s.passed += 1,
                (Outcome::Fail, _) => s.failed += 1,
                (Outcome::NonStrict, _) => s.non_strict += 1,
                (Outcome::Unimplemented, _) => s.unimplemented += 1,
                (Outcome::Info, _) => s.info += 1,
                (Outcome::NotRun, _) => s.not_run += 1,
            }
        }
        s
    }
}

/// The server process of `check --spawn`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerInfo {
    /// The command as run, `{endpoint}` replaced.
    pub command: String,
    /// Whether it exited before the harness stopped it.
    pub crashed: bool,
    /// How it exited, when it did on its own.
    pub exit_status: Option<String>,
    /// The case that was running when it exited.
    pub during: Option<String>,
    /// Its last lines of output.
    pub output_tail: Vec<String>,
    /// Restarts by `--restart`: after which case, and why.
    pub restarts: Vec<String>,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always `plug-conformance`.
    pub tool: &'static str,
    pub version: &'static str,
    /// The PROTOCOL.md version the cases check.
    pub protocol_version: u32,
    /// The endpoint of each profile run.
    pub endpoints: Vec<ProfileEndpoint>,
    /// What the harness spoke ZMTP with (`--transport`).
    pub transport: plug::transport::Transport,
    pub strict: bool,
    /// True when the run exits 0.
    pub ok: bool,
    pub summary: Summary,
    pub duration_ms: u64,
    pub server: Option<ServerInfo>,
    pub cases: Vec<CaseResult>,
}

/// Where one profile's cases ran.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileEndpoint {
    pub profile: Profile,
    pub endpoint: String,
}

impl Report {
    /// A report over `cases`, with `summary` and `ok` computed, judged on
    /// libzmq (set [`Report::transport`] for another transport).
    pub fn new(
        endpoints: Vec<ProfileEndpoint>,
        strict: bool,
        cases: Vec<CaseResult>,
        duration_ms: u64,
        server: Option<ServerInfo>,
    ) -> Report {
        let summary = Summary::of(&cases);
        let ok = summary.failed == 0
            && summary.unexpected_passes == 0
            && (!strict || summary.non_strict == 0);
        Report {
            tool: "plug-conformance",
            version: env!("CARGO_PKG_VERSION"),
            protocol_version: crate::spec::version(),
            endpoints,
            transport: plug::transport::Transport::Libzmq,
            strict,
            ok,
            summary,
            duration_ms,
            server,
            cases,
        }
    }

    /// 0 when `ok`, else 1.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.ok)
    }

    /// The JSON report (schema: the crate README).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The ids of the cases that count against the run, in run order.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| self.counts_as_failure(c))
            .map(|c| c.id.as_str())
            .collect()
    }

    /// Whether a case counts against the run (for JUnit and HTML).
    pub fn counts_as_failure(&self, c: &CaseResult) -> bool {
        match c.outcome {
            Outcome::Fail => !c.expected_failure,
            Outcome::NonStrict => self.strict && !c.expected_failure,
            Outcome::Pass => c.expected_failure,
            _ => false,
        }
    }
}

/// `plug-conformance list`: one line per case, with its main requirement.
pub fn list(cases: &[crate::Case], profile: Option<Profile>) -> String {
    let width = cases.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in cases
        .iter()
        .filter(|c| profile.is_none_or(|p| p == c.profile))
    {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {:<6} {}\n",
            c.id,
            c.requirement.to_string(),
            c.rules.first().copied().unwrap_or(""),
            c.summary
        ));
    }
    out
}
