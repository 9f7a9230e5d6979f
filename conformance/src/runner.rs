//! Runs the cases of one profile one after another, each on its own thread
//! with its own connections and a deadline scaled to the server's measured
//! speed, so a hung server fails a case and never hangs the harness.
//!
//! The profile's probe case runs first, patiently. A server that crashes
//! fails the case that was running (with its output); a server that no
//! longer answers a patient liveness probe after a failed case has stopped.
//! Either way the later cases are `not-run`, unless `--restart` starts the
//! server again.

use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::case::{Case, Ctx, Notes, Profile, Requirement, ServerFacts, Thresholds, Verdict};
use crate::hints;
use crate::probe::{handshake, still_answers};
use crate::report::{CaseResult, Outcome};
use crate::spawn::Spawned;
use crate::trace::Trace;

/// Lines of a spawned server's output attached to a failed case.
const OUTPUT_LINES: usize = 40;

/// What the runner needs to know about the run.
#[derive(Clone, Debug)]
pub(crate) struct RunConfig {
    pub endpoint: String,
    pub timeout: Duration,
    pub thresholds: Thresholds,
    pub curve: Option<plug::CurveClient>,
    pub transport: plug::transport::Transport,
}

impl RunConfig {
    fn ctx(&self, facts: &ServerFacts) -> Ctx {
        Ctx {
            endpoint: self.endpoint.clone(),
            timeout: self.timeout,
            trace: Trace::default(),
            notes: Notes::default(),
            thresholds: self.thresholds,
            curve: self.curve.clone(),
            transport: self.transport,
            server: facts.clone(),
            left_behind: Arc::new(AtomicU64::new(0)),
            learned: Arc::new(Mutex::new(None)),
        }
    }
}

/// The server under test, when the harness started it.
pub(crate) struct Server<'a> {
    pub spawned: &'a mut Spawned,
    /// `--restart`: start it again after a crash or a hang.
    pub restart: bool,
    pub restarts: Vec<String>,
    /// The case during which it crashed (first time), and how it exited.
    pub crash: Option<(String, String)>,
}

/// Runs the probe case of `profile` and then `cases` (the probe is
/// reported when `report_probe` or when it fails).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    profile: Profile,
    probe: &'static Case,
    report_probe: bool,
    cases: &[&'static Case],
    cfg: &RunConfig,
    startup: Duration,
    mut server: Option<&mut Server>,
    progress: &mut dyn FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let mut results = Vec::with_capacity(cases.len() + 1);
    let mut facts = ServerFacts::default();
    let mut stopped: Option<String> = None;

    let (first, learned) = run_probe(probe, cfg, startup, &mut server);
    if let Some(f) = learned.clone() {
        facts = f;
    }
    let answered = learned.as_ref().is_some_and(|f| f.answered);
    let crashed = first.outcome == Outcome::Fail
        && first.trace.iter().any(|l| l.contains("the server exited"));
    if !answered || crashed {
        let why = if crashed {
            format!("the server exited during {}", probe.id)
        } else if first.hint.as_deref() == Some(hints::REP_SOCKET) {
            "the server answers no bare request (looks like a REP socket)".to_owned()
        } else {
            "the server answered no request".to_owned()
        };
        stopped = Some(why);
    }
    if report_probe || first.outcome.is_failure() {
        progress(&first);
        results.push(first);
    }
    if stopped.is_some() {
        if let Some(s) = server.as_deref_mut() {
            if s.restart && crashed {
                stopped = restart(s, profile, cfg, startup, probe.id).err();
            }
        }
    }

    for case in cases {
        if let Some(why) = &stopped {
            let r = not_run(case, why);
            progress(&r);
            results.push(r);
            continue;
        }
        let dealer = facts.socket == crate::case::SocketKind::Dealer;
        if dealer && (case.several_peers || case.req_client) {
            let mut r = result(case, Outcome::Info, Duration::ZERO, Vec::new());
            r.detail = Some(if case.several_peers {
                "not applicable: the server uses a DEALER socket, which serves one plug at a \
                 time (§2.1-c)"
                    .into()
            } else {
                "not applicable: the server uses a DEALER socket, and a REQ socket talks only \
                 to ROUTER and REP sockets (§2.1-c)"
                    .into()
            });
            progress(&r);
            results.push(r);
            continue;
        }
        let seq = server.as_ref().map(|s| s.spawned.output_seq());
        let ctx = cfg.ctx(&facts);
        let left_behind = ctx.left_behind.clone();
        let mut r = run_one(case, ctx, case.deadline(cfg.timeout, facts.service));
        let exited = server.as_deref_mut().and_then(|s| s.spawned.exited());
        if let Some(status) = exited {
            crashed_during(&mut r, &status);
            if let Some(s) = server.as_deref_mut() {
                s.crash.get_or_insert((case.id.to_owned(), status.clone()));
                if s.restart {
                    stopped = restart(s, profile, cfg, startup, case.id).err();
                } else {
                    stopped = Some(format!("the server exited ({status}) during {}", case.id));
                }
            }
        } else if r.outcome.is_failure() {
            let backlog = left_behind.load(std::sync::atomic::Ordering::Relaxed);
            let patience = cfg.timeout * 3
                + facts
                    .service
                    .saturating_mul(u32::try_from(backlog).unwrap_or(u32::MAX))
                    .saturating_mul(2)
                    .min(Duration::from_secs(120));
            if let Err(why) = still_answers(&cfg.ctx(&facts), profile, patience) {
                r.trace.push(format!(
                    "-- after this case the server no longer answers ({why})"
                ));
                // Whatever the case's own level: not answering any more
                // breaks §8.1-a, a MUST.
                stopped_during(&mut r, &why);
                match server.as_deref_mut() {
                    Some(s) if s.restart => {
                        stopped = restart(s, profile, cfg, startup, case.id).err();
                    }
                    _ => {
                        stopped = Some(format!("the server stopped answering after {}", case.id));
                    }
                }
            }
        }
        if let (Some(seq), Some(s)) = (seq, server.as_ref()) {
            if r.outcome.is_failure() {
                let lines = s.spawned.output_since(seq);
                let skip = lines.len().saturating_sub(OUTPUT_LINES);
                r.server_output = lines.into_iter().skip(skip).collect();
            }
        }
        progress(&r);
        results.push(r);
    }
    results
}

/// The probe case with the start-up patience; what it learned.
fn run_probe(
    probe: &'static Case,
    cfg: &RunConfig,
    startup: Duration,
    server: &mut Option<&mut Server>,
) -> (CaseResult, Option<ServerFacts>) {
    let mut patient = cfg.clone();
    patient.timeout = startup.max(cfg.timeout);
    let ctx = patient.ctx(&ServerFacts::default());
    let learned = ctx.learned.clone();
    let seq = server.as_ref().map(|s| s.spawned.output_seq());
    let mut r = run_one(probe, ctx, patient.timeout * 4 + cfg.timeout * 4);
    if let Some(s) = server.as_deref_mut() {
        if let Some(status) = s.spawned.exited() {
            crashed_during(&mut r, &status);
            s.crash.get_or_insert((probe.id.to_owned(), status));
        }
        if r.outcome.is_failure() {
            if let Some(seq) = seq {
                r.server_output = s.spawned.output_since(seq);
            }
        }
    }
    let facts = learned.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (r, facts)
}

/// Starts the server again, waits for its handshake and first answer.
fn restart(
    s: &mut Server,
    profile: Profile,
    cfg: &RunConfig,
    startup: Duration,
    after: &str,
) -> Result<(), String> {
    s.restarts.push(format!("after {after}"));
    s.spawned
        .restart()
        .map_err(|e| format!("the server could not be restarted: {e}"))?;
    let spawned = &mut *s.spawned;
    handshake(
        &cfg.endpoint,
        cfg.transport,
        cfg.curve.as_ref(),
        startup,
        &mut || spawned.exited(),
    )
    .map_err(|e| format!("after a restart: {}", e.0))?;
    still_answers(&cfg.ctx(&ServerFacts::default()), profile, startup)
        .map_err(|e| format!("after a restart the server answers nothing: {e}"))
}

fn crashed_during(r: &mut CaseResult, status: &str) {
    r.trace
        .push(format!("-- the server exited during this case: {status}"));
    broke_8_1_a(
        r,
        "the server keeps running",
        &format!("the server exited: {status}"),
        hints::CRASHED,
    );
}

/// A case after which the server no longer answers fails, whatever its
/// level: a server MUST NOT hang on any input (§8.1-a).
fn stopped_during(r: &mut CaseResult, why: &str) {
    broke_8_1_a(
        r,
        "the server keeps answering",
        &format!("the server no longer answered afterwards: {why}"),
        hints::STOPPED,
    );
}

/// Turns a case into a `fail` under §8.1-a, adding what was expected and
/// what happened to what the case itself found.
fn broke_8_1_a(r: &mut CaseResult, expected: &str, actual: &str, hint: &str) {
    r.outcome = Outcome::Fail;
    r.expected = Some(match r.expected.take() {
        Some(e) => format!("{e}; and {expected} (§8.1-a)"),
        None => format!("{expected} (§8.1-a)"),
    });
    r.actual = Some(match r.actual.take() {
        Some(a) => format!("{a}; {actual}"),
        None => actual.to_owned(),
    });
    r.hint = Some(hint.to_owned());
    if !r.rules.iter().any(|x| x == "8.1-a") {
        r.rules.push("8.1-a".to_owned());
    }
}

fn not_run(case: &Case, why: &str) -> CaseResult {
    let mut r = result(case, Outcome::NotRun, Duration::ZERO, Vec::new());
    r.detail = Some(format!("not run: {why}"));
    r
}

fn result(case: &Case, outcome: Outcome, took: Duration, trace: Vec<String>) -> CaseResult {
    CaseResult {
        id: case.id.to_owned(),
        family: case.family().to_owned(),
        profile: case.profile,
        requirement: case.requirement,
        section: case.section().to_owned(),
        rules: case.rules.iter().map(|r| (*r).to_owned()).collect(),
        summary: case.summary.to_owned(),
        outcome,
        expected: None,
        actual: None,
        hint: None,
        detail: None,
        duration_ms: took.as_millis() as u64,
        expected_failure: false,
        trace,
        server_output: Vec::new(),
    }
}

/// Runs one case on its own thread and grades its verdict.
fn run_one(case: &'static Case, ctx: Ctx, limit: Duration) -> CaseResult {
    let trace = ctx.trace.clone();
    let notes = ctx.notes.clone();
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
        Ok(_) => rx.recv_timeout(limit).unwrap_or_else(|_| {
            crate::case::fail(
                format!("the case to finish within {} s", limit.as_secs()),
                "still waiting at the deadline; the harness moved on",
            )
        }),
    };
    grade(case, verdict, &notes, start.elapsed(), trace.lines())
}

fn grade(
    case: &Case,
    verdict: Verdict,
    notes: &Notes,
    took: Duration,
    trace: Vec<String>,
) -> CaseResult {
    let details = notes.details();
    let mut r = match verdict {
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
        Verdict::Fail(f) => {
            let outcome = if case.requirement == Requirement::Should || f.should {
                Outcome::NonStrict
            } else {
                Outcome::Fail
            };
            let mut r = result(case, outcome, took, trace);
            r.expected = Some(f.expected);
            r.actual = Some(f.actual);
            r.hint = f.hint;
            r
        }
    };
    if matches!(r.outcome, Outcome::Pass | Outcome::Info) {
        if let Some(f) = notes.soft() {
            r.outcome = Outcome::NonStrict;
            r.expected = Some(f.expected);
            r.actual = Some(f.actual);
            r.hint = f.hint;
        }
    }
    if !details.is_empty() {
        let mut all: Vec<String> = r.detail.take().into_iter().collect();
        all.extend(details);
        r.detail = Some(all.join("; "));
    }
    r
}

/// Whether any message comes back within `limit` (a peer whose handshake
/// the monitor did not report).
pub(crate) fn wait_answer(
    cfg: &RunConfig,
    profile: Profile,
    limit: Duration,
) -> Result<(), String> {
    still_answers(&cfg.ctx(&ServerFacts::default()), profile, limit)
}
