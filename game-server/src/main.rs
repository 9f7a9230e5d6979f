//! `game-server --bind ENDPOINT`: flags, logging, signals.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use game_server::GameConfig;
use plug::server::{self, ServerConfig, SocketOptions};

/// The boomerang game server: players join, move their cars under the
/// server's rules, and listening plugs get world updates pushed.
///
/// Methods: join, leave, moveCar, getPlayers, getPlayer, subscribe,
/// unsubscribe, ping (see the README). Prints one line `listening on
/// ENDPOINT` on stdout once bound (with the real port when ENDPOINT asks for
/// `*` or 0). Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) for
/// more. SIGINT or SIGTERM stops it gracefully: no new requests, those in
/// flight are answered, exit 0.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:9000, tcp://*:*
    /// (any free port), ipc:///tmp/game.sock.
    #[arg(long, default_value = "tcp://127.0.0.1:*")]
    bind: String,

    /// Width of the world: x goes from 0 to this.
    #[arg(long, default_value_t = 1000.0)]
    width: f64,

    /// Height of the world: y goes from 0 to this.
    #[arg(long, default_value_t = 1000.0)]
    height: f64,

    /// Fastest allowed car, in units per second (a move is credited with at
    /// least 0.1 s).
    #[arg(long, default_value_t = 100.0)]
    max_speed: f64,

    /// Players in the whole game.
    #[arg(long, default_value_t = 1000)]
    max_players: usize,

    /// Rooms with at least one player.
    #[arg(long, default_value_t = 100)]
    max_rooms: usize,

    /// Players in one room.
    #[arg(long, default_value_t = 50)]
    room_capacity: usize,

    /// Plugs subscribed to world updates.
    #[arg(long, default_value_t = 256)]
    max_subscribers: usize,

    /// Requests in flight per plug; the excess gets -32002.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,

    /// Largest request accepted, in bytes; larger ones get -32001.
    #[arg(long, value_name = "BYTES", default_value_t = server::DEFAULT_RPC_MAX_MESSAGE)]
    max_message_bytes: usize,

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
            eprintln!("game-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.width > 0.0 && args.height > 0.0 && args.max_speed > 0.0,
        "--width, --height and --max-speed must be positive"
    );
    let game = GameConfig {
        width: args.width,
        height: args.height,
        max_speed: args.max_speed,
        max_players: args.max_players,
        max_rooms: args.max_rooms,
        room_capacity: args.room_capacity,
        max_subscribers: args.max_subscribers,
        ..GameConfig::default()
    };
    let config = ServerConfig::rpc()
        .max_in_flight(args.max_in_flight)
        .max_message_bytes(args.max_message_bytes);
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
        tracing::info!(%endpoint, ?game, "game-server ready");
        let stats = game_server::run(socket, game, config, server::shutdown_signal()).await?;
        anyhow::Ok(stats)
    })?;
    drop(runtime);
    drop(ctx);
    tracing::info!("game-server stopped: {stats}");
    Ok(())
}
