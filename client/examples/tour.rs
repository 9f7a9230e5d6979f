//! The README's tour, runnable: the seed's `velocity` (raw) and
//! `boomerang` (rpc) plugs against two small servers started in this
//! process with `plug::server`.
//!
//! Run: `cargo run -p plug --example tour`

use std::time::Duration;

use plug::server::{self, raw_fn, Methods, ServerConfig};
use plug::{Config, Plugs};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two external servers: a raw one that answers "ack: ..." and a
    // rpc one with the seed's moveCar and getPlayers.
    let (raw_socket, velocity_at) = server::bind("tcp://127.0.0.1:*")?;
    tokio::spawn(server::run_raw(
        raw_socket,
        raw_fn(|body: Vec<plug::Frame>| {
            let text = String::from_utf8_lossy(&body[0]).into_owned();
            Some(vec![plug::Frame::from(format!("ack: {text}"))])
        }),
        ServerConfig::raw(),
        std::future::pending::<()>(),
    ));
    let (rpc_socket, boomerang_at) = server::bind("tcp://127.0.0.1:*")?;
    let methods = Methods::new()
        .method_with_call("moveCar", |call: server::Call| async move {
            let position = call
                .request
                .object
                .get("position")
                .cloned()
                .unwrap_or(Value::Null);
            Ok(json!({"user_id": call.request.object.get("user_id"), "position": position}))
        })
        .method("getPlayers", |_: Value| async {
            Ok(json!(["ann", "bob", "cyd"]))
        });
    tokio::spawn(server::run_rpc(
        rpc_socket,
        methods,
        ServerConfig::rpc(),
        std::future::pending::<()>(),
    ));

    // The app's side: the seed's config shape, in TOML.
    let config = Config::from_toml(&format!(
        r#"
[plug_sockets]
enabled = true

[plug_sockets.plugs.velocity]
connect_to = "{velocity_at}"

[plug_sockets.plugs.boomerang]
connect_to = "{boomerang_at}"
callbacks = true
timeout_ms = 2000
"#
    ))?;
    let plugs = Plugs::open(&config)?;

    // velocity: SS.plugs.velocity.send 'Hello from node' and on 'message'.
    let velocity = plugs.raw("velocity")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    velocity.on_message(move |msg| {
        let _ = tx.send(String::from_utf8_lossy(msg.body()).into_owned());
    });
    velocity.send("Hello from Rust").await?;
    let heard = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await?;
    println!(
        "Message received from Velocity server: {}",
        heard.unwrap_or_default()
    );

    // boomerang: send(obj, cb) and request(obj).
    let boomerang = plugs.rpc("boomerang")?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    boomerang.send(
        json!({"method": "moveCar", "user_id": 21, "position": [3, 4]}),
        move |reply| {
            match &reply {
                Ok(reply) => println!("moveCar: new state {}", reply.result()),
                Err(e) => println!("moveCar failed: {e}"),
            }
            let _ = done_tx.send(());
        },
    );
    tokio::time::timeout(Duration::from_secs(5), done_rx).await??;

    let response = boomerang.request(json!({"method": "getPlayers"})).await?;
    let players = response.result().as_array().cloned().unwrap_or_default();
    let top_ten: Vec<String> = players
        .iter()
        .take(10)
        .filter_map(|p| p.as_str().map(str::to_uppercase))
        .collect();
    println!(
        "getPlayers: top_ten {top_ten:?}, num_all_players {}",
        players.len()
    );

    match boomerang.request(json!({"method": "fly"})).await {
        Err(plug::Error::Remote { error, .. }) => println!("fly: refused, {error}"),
        other => println!("fly: unexpected {other:?}"),
    }
    println!("boomerang stats: {:?}", boomerang.stats());
    Ok(())
}
