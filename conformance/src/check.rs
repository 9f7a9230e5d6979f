//! `plug-conformance check`: select the cases, reach (or start) the server,
//! run, grade against the expected failures, and write the reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::case::{Profile, Thresholds};
use crate::expected::ExpectedFailures;
use crate::report::{terminal::Terminal, ProfileEndpoint, Report, ServerInfo};
use crate::runner::{run, wait_ready, RunConfig};
use crate::spawn::Spawned;

/// Where the server under test is.
#[derive(Clone, Debug)]
pub enum Target {
    /// Connect to this endpoint for every profile.
    Endpoint(String),
    /// Start this command (`{endpoint}` replaced) and connect to it.
    Spawn(String),
    /// One endpoint per profile (the bundled servers of the no-argument run).
    PerProfile(Vec<(Profile, String)>),
}

/// Everything `check` takes.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub target: Target,
    /// Profiles run, in order.
    pub profiles: Vec<Profile>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// Wait for any one expected message. Default 5000 ms.
    pub timeout: Duration,
    /// Wait for a spawned server to answer. Default 15 s.
    pub startup_timeout: Duration,
    pub strict: bool,
    pub thresholds: Thresholds,
    pub expected_failures: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// Print every case's trace, and the spawned server's output.
    pub verbose: bool,
    /// ANSI colors in the terminal output.
    pub color: bool,
    /// Talk CURVE to the server (`--server-key`); the client key pair is
    /// generated when left out. Also turns on the `curve.*` cases.
    pub curve: Option<plug::CurveClient>,
}

impl CheckOptions {
    /// Defaults for `target` and `profile`.
    pub fn new(target: Target, profile: Profile) -> CheckOptions {
        CheckOptions {
            target,
            profiles: vec![profile],
            only: Vec::new(),
            skip: Vec::new(),
            timeout: Duration::from_millis(5000),
            startup_timeout: Duration::from_secs(15),
            strict: false,
            thresholds: Thresholds::default(),
            expected_failures: None,
            json: None,
            junit: None,
            html: None,
            verbose: false,
            color: false,
            curve: None,
        }
    }
}

/// Why `check` could not give a verdict (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--only` or `--skip` selects nothing.
    #[error("no {profiles} case matches `{pattern}` (see `plug-conformance list`)")]
    NoMatch { pattern: String, profiles: String },
    /// The server never answered the probe.
    #[error("server at {endpoint} is unreachable: {reason}")]
    Unreachable {
        endpoint: String,
        reason: String,
        output_tail: Vec<String>,
    },
    /// The spawned command could not start.
    #[error("could not start `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// `--server-key` was given but this libzmq has no CURVE.
    #[error(transparent)]
    CurveUnavailable(#[from] plug::CurveUnavailable),
    /// A CURVE key is unusable.
    #[error("{0}")]
    Curve(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Runs the check, printing progress to `out`, and writes the reports.
pub fn check(opts: &CheckOptions, out: &mut dyn Write) -> Result<Report, CheckError> {
    let started = Instant::now();
    let curve = curve_keys(opts)?;
    let all = crate::cases::all();
    let mut plan = Vec::new();
    for &profile in &opts.profiles {
        let cases = crate::select::select(all, &[profile], &[], &[]).unwrap_or_default();
        plan.push((profile, cases));
    }
    let pool: Vec<_> = all
        .iter()
        .filter(|c| opts.profiles.contains(&c.profile))
        .collect();
    for p in opts.only.iter().chain(&opts.skip) {
        if !pool.iter().any(|c| crate::select::matches(p, c.id)) {
            return Err(CheckError::NoMatch {
                pattern: p.clone(),
                profiles: names(&opts.profiles),
            });
        }
    }
    for (_, cases) in &mut plan {
        cases.retain(|c| {
            (opts.only.is_empty() || opts.only.iter().any(|p| crate::select::matches(p, c.id)))
                && !opts.skip.iter().any(|p| crate::select::matches(p, c.id))
        });
    }
    for (_, cases) in &mut plan {
        // Refusals can only be checked on a server that encrypts.
        cases.retain(|c| curve.is_some() || c.family_of_curve().is_none());
    }
    plan.retain(|(_, cases)| !cases.is_empty());
    let expected = match &opts.expected_failures {
        Some(path) => ExpectedFailures::load(path).map_err(|source| CheckError::File {
            path: path.clone(),
            source,
        })?,
        None => ExpectedFailures::default(),
    };

    let mut spawned = match &opts.target {
        Target::Spawn(cmd) => {
            let public = curve
                .as_ref()
                .and_then(|c| c.public_key.clone())
                .unwrap_or_default();
            // Z85 has shell metacharacters but no single quote.
            let cmd = &cmd.replace("{client_public_key}", &format!("'{public}'"));
            Some(
                Spawned::start(cmd, opts.verbose).map_err(|source| CheckError::Spawn {
                    command: cmd.clone(),
                    source,
                })?,
            )
        }
        _ => None,
    };
    let endpoint_of = |profile: Profile| -> String {
        match &opts.target {
            Target::Endpoint(e) => e.clone(),
            Target::Spawn(_) => spawned
                .as_ref()
                .map(|s| s.endpoint.clone())
                .unwrap_or_default(),
            Target::PerProfile(list) => list
                .iter()
                .find(|(p, _)| *p == profile)
                .map(|(_, e)| e.clone())
                .unwrap_or_default(),
        }
    };
    let endpoints: Vec<ProfileEndpoint> = plan
        .iter()
        .map(|(profile, _)| ProfileEndpoint {
            profile: *profile,
            endpoint: endpoint_of(*profile),
        })
        .collect();

    let total: usize = plan.iter().map(|(_, c)| c.len()).sum();
    let mut term = Terminal::new(out, opts.color, opts.verbose, total);
    term.header(&endpoints, spawned.as_ref().map(|s| s.command.as_str()));

    let mut results = Vec::new();
    let mut server_info = spawned.as_ref().map(|s| ServerInfo {
        command: s.command.clone(),
        ..ServerInfo::default()
    });
    for ((profile, cases), ep) in plan.iter().zip(&endpoints) {
        let cfg = RunConfig {
            endpoint: ep.endpoint.clone(),
            timeout: opts.timeout,
            thresholds: opts.thresholds,
            curve: curve.clone(),
        };
        let limit = if spawned.is_some() {
            opts.startup_timeout
        } else {
            opts.timeout
        };
        let mut exited = || spawned.as_mut().and_then(Spawned::exited);
        if let Err(reason) = wait_ready(&cfg, *profile, limit, &mut exited) {
            return Err(CheckError::Unreachable {
                endpoint: ep.endpoint.clone(),
                reason,
                output_tail: spawned
                    .as_ref()
                    .map(Spawned::output_tail)
                    .unwrap_or_default(),
            });
        }
        let (mut done, crash) = run(cases, &cfg, &mut exited, &mut |r| {
            let mut r = r.clone();
            r.expected_failure = expected.contains(&r.id);
            term.case(&r);
        });
        for r in &mut done {
            r.expected_failure = expected.contains(&r.id);
        }
        results.extend(done);
        if let (Some((during, status)), Some(info)) = (crash, server_info.as_mut()) {
            info.crashed = true;
            info.exit_status = Some(status);
            info.during = Some(during);
            break;
        }
    }
    if let (Some(s), Some(info)) = (spawned.as_mut(), server_info.as_mut()) {
        s.stop(Duration::from_secs(3));
        info.output_tail = s.output_tail();
    }
    let report = Report::new(
        endpoints,
        opts.strict,
        results,
        started.elapsed().as_millis() as u64,
        server_info,
    );
    term.summary(&report);
    write_reports(&report, opts)?;
    Ok(report)
}

/// The run's CURVE settings with a client key pair: the given one, or a new
/// one. Stops the run if CURVE is asked for and libzmq lacks it.
fn curve_keys(opts: &CheckOptions) -> Result<Option<plug::CurveClient>, CheckError> {
    let Some(curve) = &opts.curve else {
        return Ok(None);
    };
    plug::require_curve()?;
    let mut curve = curve.clone();
    let bad = |what: &str, m: String| CheckError::Curve(format!("{what}: {m}"));
    plug::check_z85_key(&curve.server_key).map_err(|m| bad("--server-key", m))?;
    match (&curve.public_key, &curve.secret_key) {
        (Some(p), Some(s)) => {
            plug::check_z85_key(p).map_err(|m| bad("--client-public-key", m))?;
            plug::check_z85_key(s).map_err(|m| bad("--client-secret-key", m))?;
        }
        _ => {
            let pair = plug::Keypair::generate()?;
            curve.public_key = Some(pair.public().to_owned());
            curve.secret_key = Some(pair.secret().to_owned());
        }
    }
    Ok(Some(curve))
}

fn names(profiles: &[Profile]) -> String {
    profiles
        .iter()
        .map(Profile::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

fn write_reports(report: &Report, opts: &CheckOptions) -> Result<(), CheckError> {
    let write = |path: &Option<PathBuf>, text: &dyn Fn() -> String| -> Result<(), CheckError> {
        match path {
            Some(p) => write_file(p, &text()),
            None => Ok(()),
        }
    };
    write(&opts.json, &|| report.to_json())?;
    write(&opts.junit, &|| crate::report::junit::render(report))?;
    write(&opts.html, &|| crate::report::html::render(report))?;
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), CheckError> {
    std::fs::write(path, text).map_err(|source| CheckError::File {
        path: path.to_owned(),
        source,
    })
}
