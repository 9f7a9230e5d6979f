//! `plug-conformance`: parse flags, call the library, map the result to an
//! exit status (0 no failure, 1 a failure, 2 usage error or no verdict).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use plug::transport::Transport;
use plug_conformance::bundled::Bundled;
use plug_conformance::{all_cases, check, CheckError, CheckOptions, Profile, Target, Thresholds};

#[derive(Parser)]
#[command(
    name = "plug-conformance",
    version,
    about = "Checks that a server speaks the plug wire protocol (PROTOCOL.md).",
    after_help = "With no command, runs every case against the bundled echo servers."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once; the size of the `check` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the cases against a server.
    Check(CheckArgs),
    /// List every case: id, requirement, PROTOCOL.md section, summary.
    List(ListArgs),
    /// Measure latency and throughput under load (closed or open loop).
    Bench(plug_conformance::bench::cli::BenchArgs),
    /// Print two `bench --json` reports side by side.
    Compare(plug_conformance::bench::cli::CompareArgs),
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["endpoint", "spawn"]))]
struct CheckArgs {
    /// The server's endpoint, e.g. tcp://127.0.0.1:5555 or ipc:///tmp/s.sock.
    endpoint: Option<String>,
    /// Start this command with `sh -c`, `{endpoint}` replaced by ENDPOINT or
    /// else by a free loopback endpoint; stop it afterwards.
    #[arg(long, value_name = "COMMAND")]
    spawn: Option<String>,
    /// With --spawn: start the server again after it crashes or stops
    /// answering, and go on with the next case.
    #[arg(long, requires = "spawn")]
    restart: bool,
    /// The kind of server.
    #[arg(long, value_enum, default_value_t = Profile::Rpc)]
    profile: Profile,
    /// Run only cases matching PATTERN (`rpc.id.*`, `rpc.id`); repeatable.
    #[arg(long, value_name = "PATTERN")]
    only: Vec<String>,
    /// Skip cases matching PATTERN; repeatable.
    #[arg(long, value_name = "PATTERN")]
    skip: Vec<String>,
    /// How long to wait for any one expected reply (10 to 600000).
    #[arg(long, value_name = "N", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    timeout_ms: u64,
    /// How long to wait for a spawned server's first answer (100 to 600000).
    #[arg(long, value_name = "N", default_value_t = 15000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    startup_timeout_ms: u64,
    /// Count non-strict outcomes (broken SHOULDs) as failures.
    #[arg(long)]
    strict: bool,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Cases expected to fail, one id or pattern per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<PathBuf>,
    /// perf.*: fail below this many round trips per second.
    #[arg(long, value_name = "N", value_parser = positive_rate)]
    min_throughput: Option<f64>,
    /// perf.*: fail when the 99th percentile latency exceeds N microseconds
    /// (1 to 60000000).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=60_000_000))]
    max_p99_us: Option<u64>,
    /// Talk CURVE to the server, whose public key (Z85) this is; also runs
    /// the curve.* cases. Needs the secure build (README).
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    server_key: Option<String>,
    /// The harness's CURVE public key, for the server's allow-list [default:
    /// a new key pair; `{client_public_key}` in --spawn is replaced by its
    /// public key, shell-quoted].
    #[arg(long, value_name = "KEY", allow_hyphen_values = true, requires_all = ["server_key", "client_secret_key"])]
    client_public_key: Option<String>,
    /// The harness's CURVE secret key (with --client-public-key).
    #[arg(
        long,
        value_name = "KEY",
        allow_hyphen_values = true,
        requires = "client_public_key"
    )]
    client_secret_key: Option<String>,
    /// What the harness speaks ZMTP with: libzmq (the reference; every
    /// endpoint kind, CURVE) or native (this kit's ZMTP on tokio; tcp:// and
    /// ipc://, no CURVE).
    #[arg(long, value_name = "NAME", default_value = "libzmq",
          value_parser = |s: &str| s.parse::<Transport>())]
    transport: Transport,
    /// Print every case's wire trace and the spawned server's output.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
struct ListArgs {
    /// Only this profile's cases.
    #[arg(long, value_enum)]
    profile: Option<Profile>,
    /// Every numbered requirement of PROTOCOL.md with the cases that check
    /// it, on each path.
    #[arg(long, conflicts_with = "profile")]
    coverage: bool,
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e9 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a rate from 0 to 1e9 round trips per second"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The plugs and bundled servers log through `tracing`; only errors by
    // default, so the report stays readable (RUST_LOG=debug for more).
    plug_flags::init_logging("error");
    match cli.command {
        Some(Command::List(args)) if args.coverage => {
            print!("{}", plug_conformance::coverage::render(all_cases()));
            ExitCode::SUCCESS
        }
        Some(Command::List(args)) => {
            print!(
                "{}",
                plug_conformance::report::list(all_cases(), args.profile)
            );
            ExitCode::SUCCESS
        }
        Some(Command::Check(args)) => {
            let target = match (args.endpoint.clone(), args.spawn.clone()) {
                (_, Some(cmd)) => Target::Spawn(cmd),
                (Some(ep), None) => Target::Endpoint(ep),
                (None, None) => unreachable!("clap requires a target"),
            };
            let mut opts = CheckOptions::new(target, args.profile);
            if args.spawn.is_some() {
                opts.spawn_endpoint = args.endpoint;
            }
            opts.only = args.only;
            opts.skip = args.skip;
            opts.timeout = Duration::from_millis(args.timeout_ms);
            opts.startup_timeout = Duration::from_millis(args.startup_timeout_ms);
            opts.strict = args.strict;
            opts.restart = args.restart;
            opts.thresholds = Thresholds {
                min_throughput: args.min_throughput,
                max_p99_us: args.max_p99_us,
            };
            opts.expected_failures = args.expected_failures;
            opts.json = args.json;
            opts.junit = args.junit;
            opts.html = args.html;
            opts.verbose = args.verbose;
            opts.transport = args.transport;
            opts.curve = args.server_key.map(|key| plug::CurveClient {
                server_key: key,
                public_key: args.client_public_key,
                secret_key: args.client_secret_key,
            });
            run(&opts)
        }
        Some(Command::Bench(args)) => args.run(),
        Some(Command::Compare(args)) => args.run(),
        None => bundled(),
    }
}

fn run(opts: &CheckOptions) -> ExitCode {
    let mut opts = opts.clone();
    opts.color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    match check(&opts, &mut std::io::stdout()) {
        Ok(report) => ExitCode::from(report.exit_code()),
        Err(e) => {
            eprintln!("plug-conformance: {e}");
            if let CheckError::Unreachable { output_tail, .. } = &e {
                for line in output_tail {
                    eprintln!("  server| {line}");
                }
            }
            ExitCode::from(2)
        }
    }
}

/// No arguments: both profiles against the bundled servers, then how to
/// point the harness at your own.
fn bundled() -> ExitCode {
    let servers = (Bundled::start(Profile::Rpc), Bundled::start(Profile::Raw));
    let (Ok(rpc), Ok(raw)) = servers else {
        eprintln!("plug-conformance: could not start the bundled servers");
        return ExitCode::from(2);
    };
    println!("Running every case against the bundled echo servers (in this process).\n");
    let mut opts = CheckOptions::new(
        Target::PerProfile(vec![
            (Profile::Rpc, rpc.endpoint.clone()),
            (Profile::Raw, raw.endpoint.clone()),
        ]),
        Profile::Rpc,
    );
    opts.profiles = vec![Profile::Rpc, Profile::Raw];
    let code = run(&opts);
    println!(
        "\nTo check your own server:\n  \
         plug-conformance check tcp://127.0.0.1:5555 --profile rpc     # a running rpc-mode server\n  \
         plug-conformance check --spawn \"./my-server {{endpoint}}\" --profile raw --json report.json\n  \
         plug-conformance list --coverage                              # every requirement and its cases"
    );
    code
}
