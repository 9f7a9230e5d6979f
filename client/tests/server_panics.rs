//! A handler that panics gets -32603 and the server keeps serving: the
//! serving loop runs handlers on its own task until they wait, so a panic
//! that escaped would stop every request, not one.

use std::future::Future;
use std::time::Duration;

use plug::protocol::{codes, ErrorObject};
use plug::server::{self, Call, Handler, Methods, ServerConfig};
use plug::{PlugBuilder, RpcPlug};
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(20);

/// Panics before it returns its future when the method is "early".
struct Early;

impl Handler for Early {
    fn call(&self, call: Call) -> impl Future<Output = Result<Value, ErrorObject>> + Send {
        if call.method() == Ok("early") {
            panic!("early boom");
        }
        async { Ok(json!("fine")) }
    }
}

async fn serve(handler: impl Handler) -> (RpcPlug, tokio::sync::oneshot::Sender<()>) {
    let (socket, endpoint) = server::bind("tcp://127.0.0.1:*").unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::run_rpc(
        socket,
        handler,
        ServerConfig::rpc(),
        async {
            let _ = stopped.await;
        },
    ));
    let plug = PlugBuilder::new("panics")
        .connect_to(&endpoint)
        .timeout(Duration::from_secs(5))
        .rpc()
        .unwrap();
    (plug, stop)
}

async fn internal_error(plug: &RpcPlug, method: &str) -> String {
    let e = plug.request(json!({"method": method})).await.unwrap_err();
    let remote = e
        .remote()
        .unwrap_or_else(|| panic!("not a remote error: {e}"));
    assert_eq!(remote.code, codes::INTERNAL_ERROR, "{e}");
    remote.message.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_that_panics_gets_an_internal_error_and_the_server_goes_on() {
    tokio::time::timeout(DEADLINE, async {
        let methods = Methods::new()
            .method("boom", |_: Value| async { panic!("boom in the body") })
            .method("ping", |_: Value| async { Ok(json!("pong")) });
        let (plug, _stop) = serve(methods).await;
        for _ in 0..3 {
            assert!(internal_error(&plug, "boom")
                .await
                .contains("boom in the body"));
            let pong = plug.request(json!({"method": "ping"})).await.unwrap();
            assert_eq!(pong.result(), "pong");
        }
    })
    .await
    .expect("deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_before_its_future_gets_an_internal_error_too() {
    tokio::time::timeout(DEADLINE, async {
        let (plug, _stop) = serve(Early).await;
        for _ in 0..3 {
            assert!(internal_error(&plug, "early").await.contains("early boom"));
            let fine = plug.request(json!({"method": "other"})).await.unwrap();
            assert_eq!(fine.result(), "fine");
        }
    })
    .await
    .expect("deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_handler_that_panics_costs_one_message_not_the_peer() {
    tokio::time::timeout(DEADLINE, async {
        let (socket, endpoint) = server::bind("tcp://127.0.0.1:*").unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handler = server::raw_fn(|body: Vec<plug::Frame>| {
            assert!(&body[0][..] != b"boom", "raw boom");
            Some(body)
        });
        let serving = tokio::spawn(server::run_raw(
            socket,
            handler,
            ServerConfig::raw(),
            async {
                let _ = stopped.await;
            },
        ));
        let plug = PlugBuilder::new("raw-panics")
            .connect_to(&endpoint)
            .timeout(Duration::from_secs(5))
            .raw()
            .unwrap();
        let mut inbox = plug.messages().unwrap();
        for n in 0..3 {
            plug.send("boom").await.unwrap();
            let ok = format!("after {n}");
            plug.send(ok.as_str()).await.unwrap();
            // The echo of the second comes back: the peer's queue lives on.
            let m = inbox.recv().await.unwrap();
            assert_eq!(m.body(), ok.as_bytes());
        }
        let _ = stop.send(());
        let stats = serving.await.unwrap().unwrap();
        assert_eq!((stats.received, stats.replied), (6, 3));
        assert_eq!(stats.dropped_incoming, 3);
    })
    .await
    .expect("deadline");
}
