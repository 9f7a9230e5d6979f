//! An external server for plug, in Rust on the `plug` crate's serving loop.
//!
//! Two rules make a plug server (see PROTOCOL.md):
//!
//! 1. Bind a ROUTER socket and reply with the envelope each message arrived with.
//! 2. In rpc mode, pass the request's `id` back unchanged.
//!
//! `plug::server` keeps both, and answers every malformed request with the
//! right error, so this file only holds the methods.
//!
//! Usage: run ENDPOINT [rpc|raw]

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use plug::protocol::ErrorObject;
use plug::server::{self, Echo, Methods, ServerConfig};
use serde_json::{json, Value};

/// The rpc methods: replace them with your own.
fn methods() -> Methods {
    Methods::new()
        .method("ping", |_params: Value| async { Ok(json!("pong")) })
        .method("echo", |params: Value| async move { Ok(params) })
        .method("sleep", sleep)
        .method("greet", greet)
}

/// An example of checking params: `{"name": "Ada"}` gets `"hello, Ada"`,
/// anything else -32602 (invalid params).
async fn greet(params: Value) -> Result<Value, ErrorObject> {
    match params.get("name") {
        Some(Value::String(name)) => Ok(json!(format!("hello, {name}"))),
        _ => Err(ErrorObject::invalid_params(
            r#"greet takes {"name": a string}"#,
        )),
    }
}

/// `{"ms": n}`: answers `{"ms": n}` after n milliseconds (0 to 60000),
/// without holding up other requests.
async fn sleep(params: Value) -> Result<Value, ErrorObject> {
    let ms = params
        .get("ms")
        .and_then(Value::as_u64)
        .filter(|ms| *ms <= 60_000)
        .ok_or_else(|| {
            ErrorObject::invalid_params(r#"sleep takes {"ms": n} with n from 0 to 60000"#)
        })?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(json!({ "ms": ms }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (endpoint, raw) = match args.as_slice() {
        [endpoint] => (endpoint.as_str(), false),
        [endpoint, mode] if mode == "rpc" || mode == "raw" => (endpoint.as_str(), mode == "raw"),
        _ => {
            eprintln!("usage: run ENDPOINT [rpc|raw]");
            return ExitCode::from(2);
        }
    };
    // Logs go to stderr (RUST_LOG=debug for more), in colour only on a
    // terminal and never with NO_COLOR set.
    let no_color = matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty());
    let colour = std::io::stderr().is_terminal() && !no_color;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(endpoint, raw))
}

async fn serve(endpoint: &str, raw: bool) -> ExitCode {
    // Rule 1: the server binds, plugs connect. `bind` sets ROUTER_MANDATORY,
    // so a reply to a full or vanished plug is logged instead of lost.
    let (socket, bound) = match server::bind(endpoint) {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("{e}"); // e.g. cannot bind tcp://127.0.0.1:5000: Address already in use
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {bound}");
    // SIGINT or SIGTERM: stop taking requests, answer those in flight, exit 0.
    let stop = server::shutdown_signal();
    let served = if raw {
        server::run_raw(socket, Echo, ServerConfig::raw(), stop).await
    } else {
        server::run_rpc(socket, methods(), ServerConfig::rpc(), stop).await
    };
    match served {
        Ok(stats) => {
            tracing::info!("stopped: {stats}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
