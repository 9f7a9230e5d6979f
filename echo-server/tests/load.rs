//! Load: 1,000 plugs connected at once to the `echo-server` binary, every
//! request answered with its own params, peak memory of both sides
//! printed. The normal run sends 20 requests per connection (20,000); the
//! full run sends 1,000 per connection (1,000,000):
//!
//! ```text
//! cargo test --release -p echo-server --test load -- --ignored --nocapture
//! ```

use std::time::Duration;

use plug_test_support::load::{self, Want};
use plug_test_support::process::ServerProcess;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_echo-server");

fn echo(conn: usize, n: usize) -> load::Call {
    let params = json!([conn, n]);
    (
        json!({"method": "echo", "params": params}),
        Want::Exactly(params),
    )
}

fn echo_load(per_conn: usize, window: usize, deadline: Duration) {
    let server = ServerProcess::start(BIN, "tcp://127.0.0.1:*", &[]);
    load::run(server, "load_child", 1000, per_conn, window, deadline);
}

/// A client process of the load tests; does nothing when run by itself.
#[test]
#[ignore = "run as a child process by the load tests"]
fn load_child() {
    load::child(|_| Vec::new(), echo);
}

#[test]
fn a_thousand_connections_twenty_requests_each() {
    echo_load(20, 4, Duration::from_secs(120));
}

#[test]
#[ignore = "the full run: 1,000,000 requests; use --release"]
fn a_thousand_connections_a_million_requests() {
    echo_load(1000, 16, Duration::from_secs(1200));
}
