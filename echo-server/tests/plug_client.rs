//! The echo server through the plug client, in both modes and both
//! envelopes, with the server run in-process as the harness runs it.

use std::time::{Duration, Instant};

use echo_server::Mode;
use futures_util::future::join_all;
use plug::protocol::{codes, EnvelopeStyle};
use plug::{Frame, PlugBuilder};
use serde_json::json;
use tokio::sync::oneshot;

const DEADLINE: Duration = Duration::from_secs(30);

/// Starts the echo server in this runtime; returns its endpoint and stopper.
fn start(
    mode: Mode,
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<plug::server::Stats>,
) {
    let (socket, endpoint) = plug::server::bind("tcp://127.0.0.1:*").unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        echo_server::run(socket, mode, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    (endpoint, stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_plug_requests_and_errors() {
    tokio::time::timeout(DEADLINE, async {
        let (ep, stop, task) = start(Mode::Rpc);
        for envelope in [EnvelopeStyle::Bare, EnvelopeStyle::Delimited] {
            let p = PlugBuilder::new("echo")
                .connect_to(&ep)
                .envelope(envelope)
                .timeout(Duration::from_secs(5))
                .rpc()
                .unwrap();
            let reply = p
                .request(json!({"method": "echo", "params": [1]}))
                .await
                .unwrap();
            assert_eq!(reply.result(), &json!([1]));
            assert_eq!(
                p.request(json!({"method": "ping"})).await.unwrap().result(),
                &json!("pong")
            );
            let e = p.request(json!({"method": "nope"})).await.unwrap_err();
            assert_eq!(
                e.remote().map(|e| e.code),
                Some(codes::METHOD_NOT_FOUND),
                "{e}"
            );
            let e = p
                .request(json!({"method": "sleep", "params": {"ms": "x"}}))
                .await
                .unwrap_err();
            assert_eq!(
                e.remote().map(|e| e.code),
                Some(codes::INVALID_PARAMS),
                "{e}"
            );
            // Slow and fast together: the fast one is not held up.
            let started = Instant::now();
            let slow = p.request(json!({"method": "sleep", "params": {"ms": 300}}));
            let fast = async {
                p.request(json!({"method": "sleep", "params": {"ms": 1}}))
                    .await
                    .unwrap();
                started.elapsed()
            };
            let (slow, fast_took) = tokio::join!(slow, fast);
            slow.unwrap();
            assert!(fast_took < Duration::from_millis(250), "{fast_took:?}");
        }
        // Plugs first, then the server: a plug whose server goes away while
        // it is being dropped can block in libzmq's connection monitor.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = stop.send(());
        task.await.unwrap();
    })
    .await
    .expect("deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_through_one_plug() {
    tokio::time::timeout(DEADLINE, async {
        let (ep, stop, task) = start(Mode::Rpc);
        let p = PlugBuilder::new("many")
            .connect_to(&ep)
            .max_in_flight(1000)
            .timeout(Duration::from_secs(20))
            .rpc()
            .unwrap();
        let replies = join_all((0..10_000).map(|i| {
            let p = p.clone();
            async move { p.request(json!({"method": "echo", "params": i})).await }
        }))
        .await;
        for (i, r) in replies.into_iter().enumerate() {
            assert_eq!(r.unwrap().result(), &json!(i));
        }
        drop(p);
        // Plugs first, then the server: a plug whose server goes away while
        // it is being dropped can block in libzmq's connection monitor.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = stop.send(());
        let stats = task.await.unwrap();
        assert_eq!((stats.replied, stats.error_replies), (10_000, 0), "{stats}");
    })
    .await
    .expect("deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_plug_messages_come_back_frame_for_frame() {
    tokio::time::timeout(DEADLINE, async {
        let (ep, stop, task) = start(Mode::Raw);
        for envelope in [EnvelopeStyle::Bare, EnvelopeStyle::Delimited] {
            let r = PlugBuilder::new("velocity")
                .connect_to(&ep)
                .envelope(envelope)
                .timeout(Duration::from_secs(5))
                .raw()
                .unwrap();
            let mut rx = r.messages().unwrap();
            r.send("Hello from node").await.unwrap();
            r.send_multipart(vec![
                Frame::from(&b"\x00\xff"[..]),
                Frame::empty(),
                Frame::from("c"),
            ])
            .await
            .unwrap();
            let m = rx.recv().await.unwrap();
            assert_eq!(m.body(), b"Hello from node");
            let m = rx.recv().await.unwrap();
            assert_eq!(
                m.frames(),
                &[
                    Frame::from(&b"\x00\xff"[..]),
                    Frame::empty(),
                    Frame::from("c")
                ]
            );
        }
        // Plugs first, then the server: a plug whose server goes away while
        // it is being dropped can block in libzmq's connection monitor.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = stop.send(());
        task.await.unwrap();
    })
    .await
    .expect("deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_serving_future_stops_the_server() {
    tokio::time::timeout(DEADLINE, async {
        let (socket, ep) = plug::server::bind("tcp://127.0.0.1:*").unwrap();
        // The serving loop runs in a task of its own; dropping (here:
        // aborting) the future that awaits it must stop that task too.
        let serving = tokio::spawn(echo_server::run(socket, Mode::Rpc, std::future::pending()));
        let p = PlugBuilder::new("echo")
            .connect_to(&ep)
            .timeout(Duration::from_millis(300))
            .rpc()
            .unwrap();
        let ping = json!({"method": "ping"});
        assert_eq!(p.request(ping.clone()).await.unwrap().result(), "pong");
        serving.abort();
        assert!(serving.await.unwrap_err().is_cancelled());
        let e = p.request(ping).await.unwrap_err();
        assert!(matches!(e, plug::Error::Timeout { .. }), "{e}");
    })
    .await
    .expect("deadline");
}
