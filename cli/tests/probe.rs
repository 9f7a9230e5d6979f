//! `plug probe`, the readiness check: its output and exit status against
//! in-test servers that answer, refuse, stay silent or break the protocol,
//! pinned with snapshots.

mod common;

use std::process::Output;
use std::sync::Arc;

use plug::Frame;
use plug_test_support::router::{json_frame, TestRouter, DEADLINE};
use serde_json::{json, Value};

use common::{plug, show};

/// A ROUTER whose every message gets the frames `answer` returns (none:
/// no reply).
fn serve(
    answer: impl Fn(&[Frame]) -> Vec<Frame> + Send + 'static,
) -> (String, tokio::task::JoinHandle<()>) {
    let router = Arc::new(TestRouter::bind());
    let endpoint = router.endpoint.clone();
    let task = tokio::spawn(async move {
        while let Ok(m) = router.socket.recv().await {
            let body = answer(&m[1..]);
            if !body.is_empty() {
                let mut reply = vec![m[0].clone()];
                reply.extend(body);
                router.socket.send(reply).await.unwrap();
            }
        }
    });
    (endpoint, task)
}

/// Answers a ping's id with `reply` (its `id` member set to the ping's).
fn answer_ping(reply: Value) -> impl Fn(&[Frame]) -> Vec<Frame> {
    move |body| {
        let ping: Value = serde_json::from_slice(&body[0]).unwrap();
        assert_eq!(ping["method"], "ping");
        let mut reply = reply.clone();
        reply["id"] = ping["id"].clone();
        vec![json_frame(reply)]
    }
}

macro_rules! snap {
    ($name:expr, $out:expr) => {
        let out = $out;
        insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")]}, {
            insta::assert_snapshot!($name, show(&out));
        });
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_ping_is_ready() {
    let (ep, server) = serve(answer_ping(json!({"result": "pong"})));
    snap!("probe_ready", plug(&["probe", &ep]).await);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_or_failing_server_is_not_ready() {
    let (ep, server) = serve(answer_ping(json!({"error": {
        "code": -32003, "message": "the server is shutting down; the request was not run"
    }})));
    snap!("probe_draining", plug(&["probe", &ep]).await);
    server.abort();
    let (ep, server) = serve(answer_ping(json!({"error": {
        "code": -32601, "message": "method not found: ping"
    }})));
    snap!("probe_no_ping", plug(&["probe", &ep]).await);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_and_no_server_are_told_apart() {
    let (ep, server) = serve(|_| Vec::new());
    snap!(
        "probe_silent",
        plug(&["probe", &ep, "--timeout", "300"]).await
    );
    server.abort();
    // A port the OS gave a listener that is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("tcp://127.0.0.1:{port}");
    snap!(
        "probe_nobody",
        plug(&["probe", &gone, "--timeout", "300"]).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_breaks_the_protocol_is_named() {
    let (ep, server) = serve(|_| vec![Frame::from("not json")]);
    snap!("probe_garbage", plug(&["probe", &ep]).await);
    server.abort();
    let (ep, server) = serve(|_| vec![json_frame(json!({"id": 99, "result": "pong"}))]);
    snap!("probe_wrong_id", plug(&["probe", &ep]).await);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_probes_want_their_echo() {
    let (ep, server) = serve(|body| body.to_vec());
    snap!("probe_raw_ready", plug(&["probe", &ep, "--raw"]).await);
    server.abort();
    let (ep, server) = serve(|_| vec![Frame::from("something else")]);
    snap!("probe_raw_not_echo", plug(&["probe", &ep, "--raw"]).await);
    server.abort();
}

#[tokio::test]
async fn bad_usage_is_refused_and_the_help_says_what_the_statuses_mean() {
    snap!(
        "probe_zero_timeout",
        plug(&["probe", "tcp://127.0.0.1:1", "--timeout", "0"]).await
    );
    let missing = plug(&["probe"]).await;
    assert_eq!(missing.status.code(), Some(2), "{}", show(&missing));
    let help = plug(&["--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("probe") && help.contains("ready"), "{help}");
    let help = plug(&["probe", "--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    for word in [
        "--raw",
        "--timeout",
        "[default: 1000]",
        "Exit status: 0 ready",
    ] {
        assert!(
            help.contains(word),
            "`plug probe --help` lacks {word}:\n{help}"
        );
    }
}

/// Runs `plug probe ENDPOINT` until it fails, and returns that run.
async fn probe_until_not_ready(endpoint: &str) -> Output {
    let started = tokio::time::Instant::now();
    loop {
        let out = plug(&["probe", endpoint]).await;
        if !out.status.success() {
            return out;
        }
        assert!(started.elapsed() < DEADLINE, "still ready: {}", show(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_is_ready_until_it_drains() {
    use plug::server::{self, Methods, ServerConfig, SocketOptions};
    use plug::transport::Transport;
    for transport in [Transport::Libzmq, Transport::Native] {
        // A request held by the server keeps it draining for the test; the
        // server says when it holds it, and a permit releases it.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (holding, mut held_now) = tokio::sync::mpsc::unbounded_channel::<()>();
        let opened = gate.clone();
        let methods = Methods::new()
            .method("ping", |_: Value| async { Ok(json!("pong")) })
            .method("hold", move |_: Value| {
                let (opened, holding) = (opened.clone(), holding.clone());
                async move {
                    let _ = holding.send(());
                    opened.acquire().await.unwrap().forget();
                    Ok(json!("released"))
                }
            });
        let options = SocketOptions::default().transport(transport);
        let (listener, ep) =
            server::bind_in(plug::socket::context(), "tcp://127.0.0.1:*", &options).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::run_rpc(
            listener,
            methods,
            ServerConfig::rpc().drain_timeout(DEADLINE),
            async move {
                let _ = stopped.await;
            },
        ));
        let out = plug(&["probe", &ep]).await;
        assert!(out.status.success(), "{}", show(&out));
        let holder = plug::PlugBuilder::new("holder")
            .connect_to(&ep)
            .timeout(DEADLINE)
            .rpc()
            .unwrap();
        let held = {
            let holder = holder.clone();
            tokio::spawn(async move { holder.request(json!({"method": "hold"})).await })
        };
        // The server runs the hold before it is told to stop.
        tokio::time::timeout(DEADLINE, held_now.recv())
            .await
            .expect("the server holding the request")
            .unwrap();
        stop.send(()).unwrap();
        // A libzmq server still takes connections while it drains and
        // answers -32003; a native one takes none.
        let name = format!("probe_real_draining_{transport:?}").to_lowercase();
        snap!(name, probe_until_not_ready(&ep).await);
        gate.add_permits(1);
        assert_eq!(held.await.unwrap().unwrap().result(), "released");
        tokio::time::timeout(DEADLINE, serving)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
