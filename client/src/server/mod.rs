//! The server side of the protocol: ROUTER serving loops for external
//! servers written in Rust.
//!
//! A server binds, then runs one loop until a shutdown future completes:
//!
//! ```no_run
//! use plug::server::{self, Methods, ServerConfig};
//! use serde_json::{json, Value};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (socket, endpoint) = server::bind("tcp://127.0.0.1:*")?;
//! println!("listening on {endpoint}");
//! let methods = Methods::new()
//!     .method("echo", |params: Value| async move { Ok(params) })
//!     .method("ping", |_: Value| async { Ok(json!("pong")) });
//! server::run_rpc(socket, methods, ServerConfig::rpc(), server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! What the loops guarantee (PROTOCOL.md):
//!
//! - each reply goes back in the envelope its request came in, bare or
//!   delimited (§3.3), and carries the request's id as its exact JSON text
//!   (§5.2); envelopes, ids and error codes all come from
//!   [`crate::protocol`];
//! - bad requests get the error replies of §5.5; notifications get none;
//! - an rpc handler runs on the receiving task until it first waits, then
//!   in a task of its own; raw messages go through their peer's queue. A
//!   handler that waits (a timer, I/O, a full peer) or a slow peer holds up
//!   nobody else (§2.5, §5.6); long CPU work without an `.await` belongs in
//!   `tokio::task::spawn_blocking`, as anywhere in tokio;
//! - `ZMQ_ROUTER_MANDATORY` is set: a reply to a full peer waits (bounded by
//!   [`ServerConfig::send_timeout`]) and a reply to a gone peer is dropped;
//!   both are logged and counted in [`Stats`], never silent (§2.4);
//! - limits with defaults: 16 MiB per message in rpc mode, 256 MiB in raw
//!   mode, 1024 requests in flight per peer (§8);
//! - on shutdown the loop stops receiving, finishes what is in flight and
//!   returns.
//!
//! Layout:
//! - `bind`: [`bind`] and [`bind_in`], a ROUTER with the right options;
//! - `curve`, `zap`: [`CurveServer`] (secret key and allow-list) and the
//!   ZAP handler that admits or refuses each CURVE client (the command-line
//!   flags that build a [`CurveServer`] are `plug_flags::CurveFlags`);
//! - `config`: [`ServerConfig`], the limits;
//! - `handler` and `methods`: [`Handler`], [`Call`] and [`Methods`];
//! - `rpc`: [`run_rpc`]; `raw`: [`run_raw`], [`RawHandler`], [`Echo`];
//! - `outbox`: [`Outbox`], replies and pushes with full/gone handling;
//! - `peers`: requests in flight per peer; `shutdown`: [`shutdown_signal`]
//!   and waiting for the requests in flight; `stats`: [`Stats`].

mod bind;
mod config;
mod curve;
mod error;
mod handler;
mod methods;
mod outbox;
mod peers;
mod raw;
mod rpc;
mod shutdown;
mod stats;
mod zap;

pub use bind::{bind, bind_in, SocketOptions};
pub use config::{
    ServerConfig, DEFAULT_MAX_IN_FLIGHT, DEFAULT_RAW_MAX_MESSAGE, DEFAULT_RPC_MAX_MESSAGE,
};
pub use curve::CurveServer;
pub use error::ServerError;
pub use handler::{parse_params, Call, Handler};
pub use methods::Methods;
pub use outbox::{peer_name, Outbox, Undelivered};
pub use raw::{raw_fn, run_raw, Echo, RawFn, RawHandler};
pub use rpc::run_rpc;
pub use shutdown::shutdown_signal;
pub use stats::Stats;
pub use zap::ZAP_ENDPOINT;

use std::future::Future;

/// Runs a serving loop as a task of its own. A future awaited under
/// `block_on` runs on a thread that does not poll the sockets, so every
/// message would cost a wake-up of that thread from the one that does; a
/// task is woken where its socket was polled. Dropping the returned future
/// stops the loop, as it would stop an inline one.
async fn serve_in_task<T: Send + 'static>(
    serving: impl Future<Output = Result<T, ServerError>> + Send + 'static,
) -> Result<T, ServerError> {
    let task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(serving));
    match task.await {
        Ok(outcome) => outcome,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(ServerError::Cancelled),
        },
    }
}
