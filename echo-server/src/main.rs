//! `echo-server --bind ENDPOINT --mode rpc|raw`: flags, logging, signals.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use echo_server::Mode;
use plug::server::{self, SocketOptions};

/// A plug echo server: raw frames back byte for byte, or JSON-RPC `echo`,
/// `sleep` and `ping`.
///
/// Prints one line `listening on ENDPOINT` on stdout once bound (with the
/// real port when ENDPOINT asks for `*` or 0). Logs go to stderr; set
/// RUST_LOG (e.g. RUST_LOG=debug) for more. SIGINT or SIGTERM stops it
/// gracefully: no new requests, those in flight are answered, exit 0.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:5555, tcp://*:*
    /// (any free port), ipc:///tmp/echo.sock.
    #[arg(long, default_value = "tcp://127.0.0.1:*")]
    bind: String,

    /// rpc: JSON requests (plugs with callbacks = true); raw: opaque
    /// frames echoed back (callbacks = false).
    #[arg(long, value_enum, default_value = "rpc")]
    mode: Mode,

    /// Largest message accepted, in bytes [default: 16777216 in rpc mode,
    /// 268435456 in raw mode]. Larger ones get -32001 (rpc) or are dropped
    /// with a warning (raw).
    #[arg(long, value_name = "BYTES")]
    max_message_bytes: Option<usize>,

    /// Requests in flight per peer; the excess gets -32002 (rpc) or is
    /// dropped with a warning (raw).
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,

    /// How long a reply waits for a peer whose queue is full before it is
    /// dropped with a warning, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    send_timeout_ms: u64,

    /// After SIGINT/SIGTERM, how long requests in flight may take to finish,
    /// in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 65_000)]
    drain_timeout_ms: u64,

    #[command(flatten)]
    curve: plug_flags::CurveFlags,
}

fn main() -> ExitCode {
    let args = Args::parse();
    plug_flags::init_logging("info");
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("echo-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> anyhow::Result<()> {
    let mut config = args
        .mode
        .default_config()
        .max_in_flight(args.max_in_flight)
        .send_timeout(Duration::from_millis(args.send_timeout_ms))
        .drain_timeout(Duration::from_millis(args.drain_timeout_ms));
    if let Some(bytes) = args.max_message_bytes {
        config = config.max_message_bytes(bytes);
    }
    let options = SocketOptions {
        curve: args.curve.curve()?,
        ..SocketOptions::default()
    };
    if let Some(curve) = &options.curve {
        tracing::info!(
            public_key = %curve.public_key()?,
            allowed = curve.allow.len(),
            "CURVE on: clients need this server_key and a key on the allow-list"
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    // A context of our own, dropped last: terminating it waits (up to the
    // socket's linger) until the last replies have left.
    let ctx = zmq::Context::new();
    let stats = runtime.block_on(async {
        let (socket, endpoint) = server::bind_in(&ctx, &args.bind, &options)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {endpoint}")?;
        out.flush()?;
        drop(out);
        tracing::info!(mode = ?args.mode, %endpoint, "echo-server ready");
        let stats =
            echo_server::run_with(socket, args.mode, config, server::shutdown_signal()).await?;
        anyhow::Ok(stats)
    })?;
    drop(runtime);
    drop(ctx);
    tracing::info!("echo-server stopped: {stats}");
    Ok(())
}
