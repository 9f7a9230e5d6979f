//! Runs cases one after another, each on its own thread with its own
//! connections and deadline, so a hung server fails a case and never hangs
//! the harness.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::case::{Case, Ctx, Profile, Requirement, Thresholds, Verdict};
use crate::probe::probe;
use crate::report::{CaseResult, Outcome};
use crate::trace::Trace;

/// What the runner needs to know about the run.
#[derive(Clone, Debug)]
pub(crate) struct RunConfig {
    pub endpoint: String,
    pub timeout: Duration,
    pub thresholds: Thresholds,
    pub curve: Option<plug::CurveClient>,
}

impl RunConfig {
    pub fn ctx(&self) -> Ctx {
        Ctx {
            endpoint: self.endpoint.clone(),
            timeout: self.timeout,
            trace: Trace::default(),
            thresholds: self.thresholds,
            curve: self.curve.clone(),
        }
    }
}

/// Runs `cases` against one endpoint. `server_exit` says whether a spawned
/// server has exited (and how); `progress` sees each result as it comes.
pub(crate) fn run(
    cases: &[&'static Case],
    cfg: &RunConfig,
    server_exit: &mut dyn FnMut() -> Option<String>,
    progress: &mut dyn FnMut(&CaseResult),
) -> (Vec<CaseResult>, Option<(String, String)>) {
    let mut results = Vec::with_capacity(cases.len());
    let mut stopped: Option<String> = None;
    let mut crash = None;
    for case in cases {
        if let Some(why) = &stopped {
            let r = not_run(case, why);
            progress(&r);
            results.push(r);
            continue;
        }
        let mut r = run_one(case, cfg);
        if let Some(status) = server_exit() {
            crash = Some((case.id.to_owned(), status.clone()));
            r.trace
                .push(format!("-- the server exited during this case: {status}"));
            r.outcome = Outcome::Fail;
            r.expected = Some(match r.expected.take() {
                Some(e) => format!("{e}; and the server keeps running (§8.1)"),
                None => "the server keeps running (§8.1)".into(),
            });
            r.actual = Some(match r.actual.take() {
                Some(a) => format!("{a}; the server exited: {status}"),
                None => format!("the server exited: {status}"),
            });
            stopped = Some(format!("the server exited ({status}) during {}", case.id));
        } else if r.outcome.is_failure() || r.outcome == Outcome::Unimplemented {
            if let Err(v) = probe(&cfg.ctx(), case.profile) {
                let why = match v {
                    Verdict::Fail { actual, .. } => actual,
                    other => format!("{other:?}"),
                };
                r.trace.push(format!(
                    "-- after this case the server no longer answers: {why}"
                ));
                stopped = Some(format!("the server stopped answering after {}", case.id));
            }
        }
        progress(&r);
        results.push(r);
    }
    (results, crash)
}

fn not_run(case: &Case, why: &str) -> CaseResult {
    let mut r = result(case, Outcome::Fail, Duration::ZERO, Vec::new());
    r.expected = Some("a running server that answers".into());
    r.actual = Some(format!("not run: {why}"));
    r
}

fn result(case: &Case, outcome: Outcome, took: Duration, trace: Vec<String>) -> CaseResult {
    CaseResult {
        id: case.id.to_owned(),
        family: case.family().to_owned(),
        profile: case.profile,
        requirement: case.requirement,
        section: case.section.to_owned(),
        summary: case.summary.to_owned(),
        outcome,
        expected: None,
        actual: None,
        detail: None,
        duration_ms: took.as_millis() as u64,
        expected_failure: false,
        trace,
    }
}

/// Runs one case on its own thread and grades its verdict.
fn run_one(case: &'static Case, cfg: &RunConfig) -> CaseResult {
    let ctx = cfg.ctx();
    let trace = ctx.trace.clone();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let spawned = std::thread::Builder::new()
        .name(case.id.to_owned())
        .spawn(move || {
            let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (case.run)(&ctx).unwrap_or_else(|v| v)
            }))
            .unwrap_or_else(|_| {
                crate::case::fail("the case to run", "the case panicked (a harness bug)")
            });
            let _ = tx.send(verdict);
        });
    let verdict = match spawned {
        Err(e) => crate::case::fail("a thread for the case", e.to_string()),
        Ok(_) => {
            let limit = case.deadline(cfg.timeout);
            rx.recv_timeout(limit).unwrap_or_else(|_| {
                crate::case::fail(
                    format!("the case to finish within {} s", limit.as_secs()),
                    "still waiting at the deadline; the harness moved on",
                )
            })
        }
    };
    grade(case, verdict, start.elapsed(), trace.lines())
}

fn grade(case: &Case, verdict: Verdict, took: Duration, trace: Vec<String>) -> CaseResult {
    match verdict {
        Verdict::Pass => result(case, Outcome::Pass, took, trace),
        Verdict::Info { detail } => {
            let mut r = result(case, Outcome::Info, took, trace);
            r.detail = Some(detail);
            r
        }
        Verdict::Unimplemented { method } => {
            let mut r = result(case, Outcome::Unimplemented, took, trace);
            r.detail = Some(format!(
                "the optional method `{method}` is not implemented (-32601, §6)"
            ));
            r
        }
        Verdict::Fail { expected, actual } => {
            let outcome = if case.requirement == Requirement::Should {
                Outcome::NonStrict
            } else {
                Outcome::Fail
            };
            let mut r = result(case, outcome, took, trace);
            r.expected = Some(expected);
            r.actual = Some(actual);
            r
        }
    }
}

/// Probes until the server answers or `limit` passes.
pub(crate) fn wait_ready(
    cfg: &RunConfig,
    profile: Profile,
    limit: Duration,
    exited: &mut dyn FnMut() -> Option<String>,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let mut cfg = cfg.clone();
    cfg.timeout = cfg.timeout.min(Duration::from_millis(500));
    loop {
        if let Some(status) = exited() {
            return Err(format!("the server exited before answering: {status}"));
        }
        let err = match probe(&cfg.ctx(), profile) {
            Ok(()) => return Ok(()),
            Err(Verdict::Fail { actual, .. }) => actual,
            Err(other) => format!("{other:?}"),
        };
        let silent = err.starts_with("nothing received") || err.starts_with("could not send");
        if !silent {
            return Err(format!("the server answered the probe wrongly: {err}"));
        }
        if Instant::now() >= deadline {
            return Err(format!("no answer within {} ms: {err}", limit.as_millis()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
