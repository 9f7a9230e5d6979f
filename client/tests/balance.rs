//! Which endpoint a request goes to (`client/src/balance.rs`): the one with
//! the fewest requests in flight, never one that stopped answering while
//! another answers, and a retry to another endpoint than the attempt that
//! timed out. Every endpoint's counters add up to the plug's.

mod common;

use std::time::Duration;

use plug::server::Methods;
use plug::transport::Transport;
use plug::{Error, LinkState, PlugBuilder, RpcPlug};
use plug_test_support::router::within;
use serde_json::{json, Value};

use common::{assert_adds_up, at, connected, until, Scripted, TestServer};

/// `callers` tasks, each sending `each` requests one after another; every
/// one must succeed.
async fn load(plug: &RpcPlug, callers: usize, each: usize, request: Value) {
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let plug = plug.clone();
            let request = request.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    plug.request(request.clone()).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        within(t).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_gets_fewer_requests_than_a_fast_one() {
    let fast = TestServer::start(
        Methods::new().method("work", |_: Value| async { Ok(json!("fast")) }),
        Transport::Native,
    );
    let slow = TestServer::start(
        Methods::new().method("work", |_: Value| async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(json!("slow"))
        }),
        Transport::Native,
    );
    let plug = PlugBuilder::new("balance")
        .connect_to(&fast.endpoint)
        .connect_to(&slow.endpoint)
        .rpc()
        .unwrap();
    connected(&plug, 2).await;
    load(&plug, 8, 50, json!({"method": "work"})).await;
    let (f, s) = (at(&plug, &fast.endpoint), at(&plug, &slow.endpoint));
    println!("fast server: {} requests, slow server: {}", f.ok, s.ok);
    assert_eq!(f.ok + s.ok, 400);
    // Round robin would give each 200.
    assert!(s.ok * 4 < f.ok, "fast {f:?}, slow {s:?}");
    assert_adds_up(&plug.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_stopped_answering_gets_nothing_while_another_answers() {
    // Reads every request and answers none.
    let silent = Scripted::start(|_| Vec::new());
    let mut answering = TestServer::start(
        Methods::new().method("ping", |_: Value| async { Ok(json!("pong")) }),
        Transport::Native,
    );
    let plug = PlugBuilder::new("balance")
        .connect_to(&silent.endpoint)
        .connect_to(&answering.endpoint)
        .timeout(Duration::from_millis(300))
        .rpc()
        .unwrap();
    connected(&plug, 2).await;

    // Ties go in turn, so one of the first requests goes to the silent
    // server and times out there.
    for _ in 0..10 {
        if at(&plug, &silent.endpoint).state == LinkState::Unresponsive {
            break;
        }
        let _ = plug.request(json!({"method": "ping"})).await;
    }
    let before = at(&plug, &silent.endpoint);
    assert_eq!(before.state, LinkState::Unresponsive, "{before:?}");
    assert_eq!(before.timeouts, 1, "{before:?}");

    // Four callers, each with a request in flight, and never one to the
    // silent server, which has none in flight.
    load(&plug, 4, 25, json!({"method": "ping"})).await;
    let after = at(&plug, &silent.endpoint);
    assert_eq!(after.sent, before.sent, "{after:?}");
    assert_eq!(silent.count("ping"), before.sent as usize);
    assert_eq!(at(&plug, &answering.endpoint).ok, plug.stats().replies);

    // Alone, it still gets requests: a server that is only slow must not
    // be cut off for good.
    answering.shut_down();
    until("the answering server gone", || plug.stats().connected == 1).await;
    let err = plug.request(json!({"method": "ping"})).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { id: Some(_), .. }), "{err}");
    assert_eq!(at(&plug, &silent.endpoint).sent, before.sent + 1);
    assert_adds_up(&plug.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_goes_to_another_endpoint_even_one_that_looks_worse() {
    // `a` answers "mute", and tells it is alive but never answers "hold".
    let a = Scripted::start(|r| match r["method"].as_str() {
        Some("hold") => vec![json!({"method": "alive"})],
        _ => vec![json!({"id": r["id"], "result": "a"})],
    });
    // `b` answers "hold" and never "mute".
    let b = Scripted::start(|r| match r["method"].as_str() {
        Some("mute") => Vec::new(),
        _ => vec![json!({"id": r["id"], "result": "b"})],
    });
    let plug = PlugBuilder::new("balance")
        .connect_to(&a.endpoint)
        .connect_to(&b.endpoint)
        .timeout(Duration::from_millis(300))
        .retries(1, Duration::ZERO)
        .rpc()
        .unwrap();
    connected(&plug, 2).await;

    // First `b` stops answering (one "mute" lands there and times out): the
    // balancer now prefers `a` for every new request.
    for _ in 0..10 {
        if at(&plug, &b.endpoint).state == LinkState::Unresponsive {
            break;
        }
        let _ = plug.request(json!({"method": "mute"})).await;
    }
    assert_eq!(at(&plug, &b.endpoint).state, LinkState::Unresponsive);

    // "hold" goes to `a`, which stays alive but lets it time out. The retry
    // goes to `b` although `a` looks better; `b` answers it.
    let reply = within(plug.request_idempotent(json!({"method": "hold"})))
        .await
        .unwrap();
    assert_eq!(reply.result(), "b");
    assert_eq!(a.ids("hold"), b.ids("hold"), "one attempt each, same id");
    assert_eq!(a.count("hold"), 1);
    assert_eq!(at(&plug, &a.endpoint).state, LinkState::Connected);
    assert_eq!(at(&plug, &b.endpoint).state, LinkState::Connected);
    let s = plug.stats();
    assert_eq!(s.retries, 1, "{s:#?}");
    assert_adds_up(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_counts_what_it_sent_and_how_each_request_ended() {
    let script = |name: &'static str| {
        move |r: &Value| match r["method"].as_str() {
            Some("ok") => vec![json!({"id": r["id"], "result": name})],
            Some("fail") => vec![json!({"id": r["id"], "error": {"code": 7, "message": "no"}})],
            _ => Vec::new(),
        }
    };
    let servers = [Scripted::start(script("a")), Scripted::start(script("b"))];
    let plug = PlugBuilder::new("balance")
        .connect_to(&servers[0].endpoint)
        .connect_to(&servers[1].endpoint)
        .timeout(Duration::from_millis(200))
        .rpc()
        .unwrap();
    connected(&plug, 2).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let method = ["ok", "ok", "fail", "drop"][i % 4];
        let plug = plug.clone();
        tasks.push(tokio::spawn(async move {
            (method, plug.request(json!({"method": method})).await)
        }));
    }
    let (mut ok, mut failed, mut timed_out) = (0, 0, 0);
    for t in tasks {
        match within(t).await.unwrap() {
            ("ok", Ok(_)) => ok += 1,
            ("fail", Err(Error::Remote { .. })) => failed += 1,
            ("drop", Err(Error::Timeout { .. })) => timed_out += 1,
            (method, other) => panic!("{method}: {other:?}"),
        }
    }
    assert_eq!((ok, failed, timed_out), (30, 15, 15));
    let s = plug.stats();
    assert_adds_up(&s);
    for server in &servers {
        let e = at(&plug, &server.endpoint);
        // What the server received is what the link says it sent, and each
        // kind ended as the server treated it.
        assert_eq!(e.sent as usize, server.seen.lock().unwrap().len(), "{e:?}");
        assert_eq!(e.ok as usize, server.count("ok"), "{e:?}");
        assert_eq!(e.errors as usize, server.count("fail"), "{e:?}");
        assert_eq!(e.timeouts as usize, server.count("drop"), "{e:?}");
        assert_eq!(e.state, LinkState::Connected);
    }
    assert_eq!(
        (s.sent, s.replies, s.timeouts, s.unmatched),
        (60, 45, 15, 0)
    );
}
