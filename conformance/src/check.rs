//! `plug-conformance check`: check the options, reach (or start) the
//! server, run each profile's cases, grade against the expected failures,
//! and write the reports.
//!
//! A usage error, an invalid endpoint, an unwritable report path, or no
//! ZeroMQ peer at all (no handshake, told by libzmq's socket monitor or a
//! native handshake) is a
//! [`CheckError`]: exit status 2, no report. A server that completed the
//! handshake always gets a full report, whatever it does next.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plug::transport::Transport;

use crate::case::{Case, Profile, Thresholds};
use crate::expected::ExpectedFailures;
use crate::probe::{handshake, Handshake};
use crate::report::{terminal::Terminal, ProfileEndpoint, Report, ServerInfo};
use crate::runner::{run, RunConfig, Server};
use crate::spawn::Spawned;

/// Where the server under test is.
#[derive(Clone, Debug)]
pub enum Target {
    /// Connect to this endpoint for every profile.
    Endpoint(String),
    /// Start this command (`{endpoint}` replaced by a free loopback
    /// endpoint, or by [`CheckOptions::spawn_endpoint`]) and connect to it.
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
    /// With [`Target::Spawn`]: the endpoint the server is to use, instead of
    /// a free loopback port.
    pub spawn_endpoint: Option<String>,
    /// Wait for any one expected message. Default 5000 ms.
    pub timeout: Duration,
    /// Wait for a spawned server's first answer. Default 15 s.
    pub startup_timeout: Duration,
    pub strict: bool,
    /// Start a spawned server again after it crashes or hangs, and go on.
    pub restart: bool,
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
    /// What the harness speaks ZMTP with (`--transport`). Default libzmq,
    /// the reference; native is `plug-zmtp`, without CURVE.
    pub transport: Transport,
}

impl CheckOptions {
    /// Defaults for `target` and `profile`.
    pub fn new(target: Target, profile: Profile) -> CheckOptions {
        CheckOptions {
            target,
            profiles: vec![profile],
            only: Vec::new(),
            skip: Vec::new(),
            spawn_endpoint: None,
            timeout: Duration::from_millis(5000),
            startup_timeout: Duration::from_secs(15),
            strict: false,
            restart: false,
            thresholds: Thresholds::default(),
            expected_failures: None,
            json: None,
            junit: None,
            html: None,
            verbose: false,
            color: false,
            curve: None,
            transport: Transport::Libzmq,
        }
    }
}

/// Why `check` could not give a verdict (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--only` or `--skip` selects nothing.
    #[error("no {profiles} case matches `{pattern}` (see `plug-conformance list`)")]
    NoMatch { pattern: String, profiles: String },
    /// The endpoint cannot be connected to as written.
    #[error("{0}")]
    InvalidEndpoint(String),
    /// No ZeroMQ peer: no handshake with the server.
    #[error("no ZeroMQ peer at {endpoint}: {reason}")]
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
    /// A report path (`--json`, `--junit`, `--html`) that cannot be written.
    #[error("{option} {path}: cannot write the report there: {source}")]
    ReportPath {
        option: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// An option that does not fit with the others.
    #[error("{0}")]
    Usage(String),
}

/// Runs the check, printing progress to `out`, and writes the reports.
pub fn check(opts: &CheckOptions, out: &mut dyn Write) -> Result<Report, CheckError> {
    let started = Instant::now();
    if opts.transport == Transport::Native && opts.curve.is_some() {
        return Err(CheckError::Usage(
            "--transport native has no CURVE: --server-key needs --transport libzmq".into(),
        ));
    }
    let curve = curve_keys(opts)?;
    let plan = plan(opts, curve.is_some())?;
    let expected = match &opts.expected_failures {
        Some(path) => ExpectedFailures::load(path).map_err(|source| CheckError::File {
            path: path.clone(),
            source,
        })?,
        None => ExpectedFailures::default(),
    };
    for (option, path) in [
        ("--json", &opts.json),
        ("--junit", &opts.junit),
        ("--html", &opts.html),
    ] {
        if let Some(path) = path {
            writable(option, path)?;
        }
    }
    if opts.restart && !matches!(opts.target, Target::Spawn(_)) {
        return Err(CheckError::Usage(
            "--restart needs --spawn: the harness can only restart a server it started".into(),
        ));
    }
    let mut warnings = Vec::new();
    let given = match &opts.target {
        Target::Endpoint(e) => Some(e),
        _ => opts.spawn_endpoint.as_ref(),
    };
    if let Some(e) = given {
        crate::endpoint::check(e).map_err(CheckError::InvalidEndpoint)?;
        if opts.transport == Transport::Native && e.starts_with("tcp://") && e.contains(';') {
            return Err(CheckError::Usage(format!(
                "--transport native: `{e}` names a source address (tcp://SOURCE;HOST:PORT), \
                 which only --transport libzmq supports"
            )));
        }
    }
    if let Target::Spawn(cmd) = &opts.target {
        if !cmd.contains("{endpoint}") && opts.spawn_endpoint.is_none() {
            warnings.push(
                "warning: --spawn has no {endpoint}: the server is not told where to listen, and \
                 the harness connects to a free port it chose; put {endpoint} in the command, or \
                 give the server's endpoint too (check ENDPOINT --spawn COMMAND)"
                    .to_owned(),
            );
        }
    }

    let mut spawned = start(opts, curve.as_ref())?;
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
        .map(|(profile, _, _)| ProfileEndpoint {
            profile: *profile,
            endpoint: endpoint_of(*profile),
        })
        .collect();

    let total: usize = plan
        .iter()
        .map(|(_, c, probe)| c.len() + usize::from(*probe))
        .sum();
    let mut term = Terminal::new(out, opts.color, opts.verbose, total);
    term.header(
        &endpoints,
        opts.transport,
        spawned.as_ref().map(|s| s.command.as_str()),
    );
    for w in &warnings {
        term.line(w);
    }

    let mut results = Vec::new();
    let mut restarts = Vec::new();
    let mut crash = None;
    for ((profile, cases, report_probe), ep) in plan.iter().zip(&endpoints) {
        let limit = if spawned.is_some() {
            opts.startup_timeout
        } else {
            opts.timeout.max(Duration::from_secs(2))
        };
        let mut exited = || spawned.as_mut().and_then(Spawned::exited);
        let reached = handshake(
            &ep.endpoint,
            opts.transport,
            curve.as_ref(),
            limit,
            &mut exited,
        );
        let no_peer = |reason: String, spawned: &Option<Spawned>| CheckError::Unreachable {
            endpoint: ep.endpoint.clone(),
            reason,
            output_tail: spawned
                .as_ref()
                .map(Spawned::output_tail)
                .unwrap_or_default(),
        };
        let cfg = RunConfig {
            endpoint: ep.endpoint.clone(),
            timeout: opts.timeout,
            thresholds: opts.thresholds,
            curve: curve.clone(),
            transport: opts.transport,
        };
        match reached {
            Err(e) => return Err(no_peer(e.0, &spawned)),
            Ok(Handshake::Done) => {}
            Ok(Handshake::Unconfirmed) => {
                // An older ZMTP peer proves itself by answering.
                if let Err(why) = crate::runner::wait_answer(&cfg, *profile, limit) {
                    return Err(no_peer(
                        format!(
                            "a connection was accepted but no ZeroMQ handshake was reported, and \
                             nothing answered ({why})"
                        ),
                        &spawned,
                    ));
                }
            }
        }
        let startup = if spawned.is_some() {
            opts.startup_timeout
        } else {
            opts.timeout
        };
        let probe = crate::cases::all()
            .iter()
            .find(|c| c.id == crate::cases::probe_id(*profile))
            .expect("each profile has a probe case");
        let mut server = spawned.as_mut().map(|s| Server {
            spawned: s,
            restart: opts.restart,
            restarts: Vec::new(),
            crash: None,
        });
        let mut done = run(
            *profile,
            probe,
            *report_probe,
            cases,
            &cfg,
            startup,
            server.as_mut(),
            &mut |r| {
                let mut r = r.clone();
                r.expected_failure = expected.contains(&r.id);
                term.case(&r);
            },
        );
        for r in &mut done {
            r.expected_failure = expected.contains(&r.id);
        }
        results.extend(done);
        if let Some(s) = server {
            restarts.extend(s.restarts);
            if crash.is_none() {
                crash = s.crash;
            }
        }
    }
    let server_info = spawned.as_mut().map(|s| {
        s.stop(Duration::from_secs(3));
        ServerInfo {
            command: s.command.clone(),
            crashed: crash.is_some(),
            exit_status: crash.as_ref().map(|(_, st)| st.clone()),
            during: crash.as_ref().map(|(c, _)| c.clone()),
            output_tail: s.output_tail(),
            restarts,
        }
    });
    let mut report = Report::new(
        endpoints,
        opts.strict,
        results,
        started.elapsed().as_millis() as u64,
        server_info,
    );
    report.transport = opts.transport;
    term.summary(&report);
    write_reports(&report, opts)?;
    Ok(report)
}

/// One profile's part of a run: its cases (the probe case apart), and
/// whether the probe itself was selected.
type Part = (Profile, Vec<&'static Case>, bool);

/// The cases of each profile.
fn plan(opts: &CheckOptions, curve: bool) -> Result<Vec<Part>, CheckError> {
    let all = crate::cases::all();
    let pool: Vec<_> = all
        .iter()
        .filter(|c| opts.profiles.contains(&c.profile))
        .collect();
    for p in opts.only.iter().chain(&opts.skip) {
        if !pool.iter().any(|c| crate::select::matches(p, c.id)) {
            return Err(CheckError::NoMatch {
                pattern: p.clone(),
                profiles: opts
                    .profiles
                    .iter()
                    .map(Profile::to_string)
                    .collect::<Vec<_>>()
                    .join("/"),
            });
        }
    }
    let selected = |c: &Case| {
        (opts.only.is_empty() || opts.only.iter().any(|p| crate::select::matches(p, c.id)))
            && !opts.skip.iter().any(|p| crate::select::matches(p, c.id))
            // Refusals can only be checked on a server that encrypts.
            && (curve || c.family_of_curve().is_none())
    };
    let mut plan = Vec::new();
    for &profile in &opts.profiles {
        let probe = crate::cases::probe_id(profile);
        let cases: Vec<&'static Case> = all
            .iter()
            .filter(|c| c.profile == profile && c.id != probe && selected(c))
            .collect();
        let probe_selected = all.iter().any(|c| c.id == probe && selected(c));
        if !cases.is_empty() || probe_selected {
            plan.push((profile, cases, probe_selected));
        }
    }
    Ok(plan)
}

fn start(
    opts: &CheckOptions,
    curve: Option<&plug::CurveClient>,
) -> Result<Option<Spawned>, CheckError> {
    let public = curve.and_then(|c| c.public_key.clone()).unwrap_or_default();
    // Z85 has shell metacharacters but no single quote.
    let with_key = |cmd: &str| cmd.replace("{client_public_key}", &format!("'{public}'"));
    let Target::Spawn(cmd) = &opts.target else {
        return Ok(None);
    };
    let cmd = with_key(cmd);
    let started = match &opts.spawn_endpoint {
        Some(endpoint) => Spawned::start_at(&cmd, endpoint, opts.verbose),
        None => Spawned::start(&cmd, opts.verbose),
    };
    let spawned = started.map_err(|source| CheckError::Spawn {
        command: cmd.clone(),
        source,
    })?;
    Ok(Some(spawned))
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

/// Fails unless a report can be written at `path`, before the run (a file
/// created by the check is removed again).
fn writable(option: &'static str, path: &Path) -> Result<(), CheckError> {
    let err = |source| CheckError::ReportPath {
        option,
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory, not a report file",
        )));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(err)?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn write_reports(report: &Report, opts: &CheckOptions) -> Result<(), CheckError> {
    let write = |path: &Option<PathBuf>, text: &dyn Fn() -> String| -> Result<(), CheckError> {
        match path {
            Some(p) => std::fs::write(p, text()).map_err(|source| CheckError::File {
                path: p.to_owned(),
                source,
            }),
            None => Ok(()),
        }
    };
    write(&opts.json, &|| report.to_json())?;
    write(&opts.junit, &|| crate::report::junit::render(report))?;
    write(&opts.html, &|| crate::report::html::render(report))?;
    Ok(())
}
