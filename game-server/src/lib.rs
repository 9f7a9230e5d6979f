//! game-server: the "boomerang" game server of the SocketStream guide,
//! authoritative and in memory.
//!
//! Players `join` a room, drive their car with `moveCar` (the server checks
//! the world's bounds and the speed limit and refuses a bad move with an
//! error naming the rule), ask `getPlayers` for the names of everyone
//! playing, and `leave`. Plugs that send `subscribe` get every change
//! pushed to them as `worldUpdate` messages without id.
//!
//! Layout:
//! - `config`: [`GameConfig`], the rules and limits with their defaults;
//! - `world`: [`World`], the players and the rules of moving;
//! - `rules`: the application error codes, one per rule;
//! - `subscribers`: the listening plugs and the pushes to them;
//! - `methods`: [`methods`], the requests, over a shared [`Game`];
//! - `main.rs`: the command line.
//!
//! Run it in-process:
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (socket, endpoint) = plug::server::bind("tcp://127.0.0.1:*")?;
//! println!("listening on {endpoint}");
//! game_server::run(socket, game_server::GameConfig::default(),
//!     plug::server::ServerConfig::rpc(), plug::server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

mod config;
mod methods;
pub mod rules;
mod subscribers;
mod world;

use std::future::Future;
use std::sync::Arc;

use plug::server::{ServerConfig, ServerError, Stats};
use plug::socket::AsyncSocket;

pub use config::{GameConfig, DEFAULT_ROOM, MIN_MOVE_SECONDS};
pub use methods::{methods, Game};
pub use world::{Player, UserId, World};

/// Serves the game on `socket` until `shutdown` completes, then finishes
/// the requests in flight and returns.
pub async fn run(
    socket: AsyncSocket,
    game: GameConfig,
    server: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stats, ServerError> {
    let game = Arc::new(Game::new(game));
    plug::server::run_rpc(socket, methods(game), server, shutdown).await
}
