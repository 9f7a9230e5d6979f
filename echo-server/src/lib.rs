//! echo-server: the smallest complete external server for plugs.
//!
//! Two modes (PROTOCOL.md §4 and §5):
//!
//! - [`Mode::Raw`]: every message goes back to its sender frame for frame
//!   and byte for byte, in its envelope;
//! - [`Mode::Rpc`]: JSON requests with the optional methods of PROTOCOL.md
//!   §6 ([`methods`]): `echo`, `sleep` and `ping`, and every error rule of
//!   §5.5 (from [`plug::server`]).
//!
//! Run it in-process (this is what the conformance harness does for its
//! self-check):
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (socket, endpoint) = plug::server::bind("tcp://127.0.0.1:*")?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(echo_server::run(socket, echo_server::Mode::Rpc, async {
//!     let _ = stopped.await;
//! }));
//! // ... talk to `endpoint` ...
//! let _ = stop.send(());
//! server.await??;
//! # Ok(()) }
//! ```
//!
//! Layout: this file holds the modes and the methods; `main.rs` is the
//! command line (flags, logging, signals).

use std::future::Future;
use std::time::Duration;

use plug::protocol::ErrorObject;
use plug::server::{self, Echo, Methods, ServerConfig, ServerError, Stats};
use plug::socket::AsyncSocket;
use serde_json::{json, Value};

/// The longest `sleep` accepted, in milliseconds (PROTOCOL.md §6.3).
pub const MAX_SLEEP_MS: u64 = 60_000;

/// Which protocol the server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// JSON requests and replies (a plug with `callbacks = true`).
    Rpc,
    /// Opaque frames, echoed back (a plug with `callbacks = false`).
    Raw,
}

impl Mode {
    /// The default limits of this mode (16 MiB or 256 MiB per message,
    /// 1024 in flight per peer).
    pub fn default_config(self) -> ServerConfig {
        match self {
            Mode::Rpc => ServerConfig::rpc(),
            Mode::Raw => ServerConfig::raw(),
        }
    }
}

/// Serves on `socket` (bound with [`plug::server::bind`]) until `shutdown`
/// completes, with the default limits of `mode`; then finishes the requests
/// in flight and returns.
pub async fn run(
    socket: AsyncSocket,
    mode: Mode,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stats, ServerError> {
    run_with(socket, mode, mode.default_config(), shutdown).await
}

/// Like [`run`], with explicit limits.
pub async fn run_with(
    socket: AsyncSocket,
    mode: Mode,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stats, ServerError> {
    match mode {
        Mode::Rpc => server::run_rpc(socket, methods(), config, shutdown).await,
        Mode::Raw => server::run_raw(socket, Echo, config, shutdown).await,
    }
}

/// The rpc methods (PROTOCOL.md §6):
///
/// ```text
/// {"id":1,"method":"ping"}                      -> {"id":1,"result":"pong"}
/// {"id":2,"method":"echo","params":[1,"a"]}     -> {"id":2,"result":[1,"a"]}
/// {"id":3,"method":"sleep","params":{"ms":50}}  -> {"id":3,"result":{"ms":50}}   (50 ms later)
/// ```
pub fn methods() -> Methods {
    Methods::new()
        .method("ping", |_params: Value| async { Ok(json!("pong")) })
        .method("echo", |params: Value| async move { Ok(params) })
        .method("sleep", sleep)
}

/// `sleep {"ms": n}`: waits n milliseconds (0..=60000) without holding up
/// other requests, then answers `{"ms": n}`.
async fn sleep(params: Value) -> Result<Value, ErrorObject> {
    let ms = params
        .get("ms")
        .and_then(Value::as_u64)
        .filter(|ms| *ms <= MAX_SLEEP_MS)
        .ok_or_else(|| {
            ErrorObject::invalid_params(format!(
                "sleep takes {{\"ms\": n}} with an integer n from 0 to {MAX_SLEEP_MS}"
            ))
        })?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(json!({ "ms": ms }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plug::protocol::codes;

    #[tokio::test]
    async fn sleep_checks_its_params() {
        assert_eq!(sleep(json!({"ms": 0})).await.unwrap(), json!({"ms": 0}));
        for bad in [
            json!(null),
            json!({"ms": -1}),
            json!({"ms": 60001}),
            json!({"ms": 1.5}),
            json!({"ms": "5"}),
            json!([5]),
        ] {
            let e = sleep(bad.clone()).await.unwrap_err();
            assert_eq!(e.code, codes::INVALID_PARAMS, "{bad}");
        }
    }
}
