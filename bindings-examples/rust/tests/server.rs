//! The server as a plug meets it: the built binary on a free loopback port,
//! asked through the `plug` crate. Every wait has a deadline.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use plug::{Error, PlugBuilder};
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(20);
const SERVER: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

/// The server in a child process, stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    fn start(mode: &str) -> Server {
        let mut child = Command::new(SERVER)
            .args(["tcp://127.0.0.1:*", mode])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(DEADLINE).expect("no `listening on` line");
        let endpoint = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_owned();
        Server { child, endpoint }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

async fn call(endpoint: &str, request: Value) -> Result<Value, Error> {
    let plug = PlugBuilder::new("test")
        .connect_to(endpoint)
        .timeout(DEADLINE)
        .rpc()?;
    plug.request(request).await.map(|reply| reply.into_result())
}

#[tokio::test]
async fn answers_its_methods() {
    let server = Server::start("rpc");
    let ep = &server.endpoint;
    assert_eq!(call(ep, json!({"method": "ping"})).await.unwrap(), "pong");
    let params = json!({"text": "héllo", "n": [1, 2.5, null]});
    assert_eq!(
        call(ep, json!({"method": "echo", "params": params.clone()}))
            .await
            .unwrap(),
        params
    );
    assert_eq!(
        call(ep, json!({"method": "sleep", "params": {"ms": 10}}))
            .await
            .unwrap(),
        json!({"ms": 10})
    );
    assert_eq!(
        call(ep, json!({"method": "greet", "params": {"name": "Ada"}}))
            .await
            .unwrap(),
        "hello, Ada"
    );
}

#[tokio::test]
async fn bad_params_get_invalid_params() {
    let server = Server::start("rpc");
    for request in [
        json!({"method": "greet"}),
        json!({"method": "greet", "params": {}}),
        json!({"method": "greet", "params": {"name": 5}}),
        json!({"method": "greet", "params": ["Ada"]}),
        json!({"method": "sleep", "params": {"ms": -1}}),
    ] {
        match call(&server.endpoint, request.clone()).await {
            Err(Error::Remote { error, .. }) => assert_eq!(error.code, -32602, "{request}"),
            other => panic!("{request}: {other:?}"),
        }
    }
    match call(&server.endpoint, json!({"method": "nope"})).await {
        Err(Error::Remote { error, .. }) => assert_eq!(error.code, -32601),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn raw_mode_echoes_frames() {
    let server = Server::start("raw");
    let plug = PlugBuilder::new("test")
        .connect_to(&server.endpoint)
        .raw()
        .unwrap();
    let mut inbox = plug.messages().unwrap();
    plug.send_multipart([&b"a"[..], &b"\x00\xff"[..], &b""[..]])
        .await
        .unwrap();
    let echoed = tokio::time::timeout(DEADLINE, inbox.recv())
        .await
        .expect("no echo")
        .unwrap();
    let frames: Vec<&[u8]> = echoed.frames().iter().map(|f| &f[..]).collect();
    assert_eq!(frames, [&b"a"[..], &b"\x00\xff"[..], &b""[..]]);
}

#[test]
fn an_endpoint_in_use_is_one_line_and_status_1() {
    let server = Server::start("rpc");
    let Output { status, stderr, .. } = Command::new(SERVER)
        .args([&server.endpoint, "rpc"])
        .output()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&stderr),
        format!("cannot bind {}: Address already in use\n", server.endpoint)
    );
}

#[test]
fn bad_usage_is_status_2() {
    let out = Command::new(SERVER)
        .args(["tcp://127.0.0.1:*", "soap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "usage: run ENDPOINT [rpc|raw]\n"
    );
}
