//! Rpc plugs against an in-test ROUTER that checks the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plug::protocol::{codes, EnvelopeStyle, Id};
use plug::{Backpressure, Error, MessageKind, PlugBuilder};
use plug_test_support::router::{f, json_frame, within, TestRouter};
use plug_test_support::tcp;
use serde_json::{json, Value};

fn builder(router: &TestRouter) -> PlugBuilder {
    PlugBuilder::new("boomerang")
        .connect_to(&router.endpoint)
        .timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn bare_requests_carry_a_counter_id_and_the_whole_reply_comes_back() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    for expected_id in 1..=3u64 {
        let p = plug.clone();
        let call = tokio::spawn(async move {
            p.request(json!({"method": "moveCar", "user_id": 21, "position": [3, 4], "id": "mine"}))
                .await
        });
        let (ident, body) = router.recv_json().await;
        assert_eq!(
            body,
            json!({"method": "moveCar", "user_id": 21, "position": [3, 4], "id": expected_id})
        );
        router
            .send(vec![
                ident,
                json_frame(json!({"id": expected_id, "result": {"x": 3}, "extra": true})),
            ])
            .await;
        let reply = within(call).await.unwrap().unwrap();
        assert_eq!(reply.id().as_u64(), Some(expected_id));
        assert_eq!(reply.id().json(), expected_id.to_string());
        assert_eq!(reply.result(), &json!({"x": 3}));
        assert_eq!(reply["extra"], json!(true));
    }
    let s = plug.stats();
    assert_eq!((s.sent, s.replies, s.in_flight), (3, 3, 0));
}

#[tokio::test]
async fn delimited_envelope_puts_an_empty_frame_first() {
    let router = TestRouter::bind();
    let plug = builder(&router)
        .envelope(EnvelopeStyle::Delimited)
        .rpc()
        .unwrap();
    let call = tokio::spawn(async move { plug.request(json!({"method": "ping"})).await });
    let m = router.recv().await;
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(m[1].is_empty());
    let body: Value = serde_json::from_slice(&m[2]).unwrap();
    assert_eq!(body, json!({"method": "ping", "id": 1}));
    router
        .send(vec![m[0].clone(), f(""), f(r#"{"id":1,"result":"pong"}"#)])
        .await;
    assert_eq!(within(call).await.unwrap().unwrap().result(), "pong");
}

#[tokio::test]
async fn replies_in_any_order_reach_their_own_caller() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    let mut calls = Vec::new();
    for n in 0..5 {
        let p = plug.clone();
        calls.push(tokio::spawn(
            async move { p.request(json!({"n": n})).await },
        ));
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(router.recv_json().await);
    }
    for (ident, body) in got.into_iter().rev() {
        let reply = json!({"id": body["id"], "result": body["n"]});
        router.send(vec![ident, json_frame(reply)]).await;
    }
    for (n, call) in calls.into_iter().enumerate() {
        let reply = within(call).await.unwrap().unwrap();
        assert_eq!(reply.result(), &json!(n));
    }
}

#[tokio::test]
async fn a_request_with_no_reply_times_out_and_its_late_reply_goes_to_the_handler() {
    let router = TestRouter::bind();
    let plug = builder(&router)
        .timeout(Duration::from_millis(200))
        .rpc()
        .unwrap();
    let mut unmatched = plug.messages().unwrap();
    let err = plug.request(json!({"method": "slow"})).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { id: Some(1), .. }), "{err}");
    assert_eq!(plug.stats().in_flight, 0);
    assert_eq!(plug.stats().timeouts, 1);

    let (ident, _) = router.recv_json().await;
    router
        .send(vec![ident, f(r#"{"id":1,"result":"late"}"#)])
        .await;
    let m = within(unmatched.recv()).await.unwrap();
    assert_eq!(m.kind(), &MessageKind::UnknownId(Id::from_u64(1)));
    assert_eq!(m.json().unwrap()["result"], "late");
}

#[tokio::test]
async fn pushes_unknown_ids_and_garbage_go_to_the_handler_and_the_plug_keeps_working() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    assert!(plug.on_message(move |m| {
        let frames: Vec<Vec<u8>> = m.frames().iter().map(|f| f.to_vec()).collect();
        sink.lock().unwrap().push((m.kind().clone(), frames));
        tx.send(()).unwrap();
    }));
    assert!(plug.messages().is_none(), "only one consumer");

    // A first request lets the router learn the plug's identity.
    let p = plug.clone();
    let call = tokio::spawn(async move { p.request(json!({"method": "hello"})).await });
    let (ident, body) = router.recv_json().await;
    // Bodies past 8 KiB too, which a reply reads differently.
    let pad = "x".repeat(10_000);
    let large_push = format!(r#"{{"method":"worldUpdate","params":"{pad}"}}"#);
    let large_unknown = format!(r#"{{"id":998,"result":"{pad}"}}"#);
    let junk = [
        &br#"{"method":"worldUpdate","params":{"t":1}}"#[..],
        br#"{"id":999,"result":1}"#,
        br#"{"id":"1","result":1}"#,
        br#"{"id":1.50,"result":1}"#,
        b"\xff\x00 not json",
        b"[1,2,3]",
        large_push.as_bytes(),
        large_unknown.as_bytes(),
    ];
    for junk in junk {
        router.send(vec![ident.clone(), junk.into()]).await;
    }
    router.send(vec![ident.clone(), f("{}"), f("{}")]).await;
    router
        .send(vec![
            ident,
            json_frame(json!({"id": body["id"], "result": "ok"})),
        ])
        .await;
    assert_eq!(within(call).await.unwrap().unwrap().result(), "ok");
    for _ in 0..9 {
        within(rx.recv()).await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    // The handler gets each message as it came.
    for (i, junk) in junk.iter().enumerate() {
        assert_eq!(seen[i].1, [junk.to_vec()], "message {i}");
    }
    assert_eq!(seen[8].1, [b"{}".to_vec(), b"{}".to_vec()]);
    let kinds: Vec<MessageKind> = seen.into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds[6], MessageKind::Push);
    assert_eq!(kinds[7], MessageKind::UnknownId(Id::from_u64(998)));
    assert_eq!(kinds[0], MessageKind::Push);
    assert_eq!(kinds[1], MessageKind::UnknownId(Id::from_u64(999)));
    assert_eq!(
        kinds[2],
        MessageKind::UnknownId(Id::from_json(r#""1""#).unwrap())
    );
    // The id's exact text, not a number that prints as 1.5.
    assert!(
        matches!(&kinds[3], MessageKind::UnknownId(id) if id.json() == "1.50"),
        "{kinds:?}"
    );
    assert!(
        matches!(&kinds[4], MessageKind::Invalid(w) if w.contains("not JSON")),
        "{kinds:?}"
    );
    assert!(matches!(&kinds[5], MessageKind::Invalid(w) if w.contains("not a JSON object")));
    assert!(matches!(&kinds[8], MessageKind::Invalid(w) if w.contains("2 frames")));
    assert_eq!(plug.stats().unmatched, 9);
}

#[tokio::test]
async fn error_replies_and_protocol_violations_are_told_apart() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    let p = plug.clone();
    let call = tokio::spawn(async move { p.request(json!({"method": "nope"})).await });
    let (ident, body) = router.recv_json().await;
    router
        .send(vec![
            ident.clone(),
            json_frame(json!({"id": body["id"], "error": {"code": -32601, "message": "method not found: nope"}})),
        ])
        .await;
    match within(call).await.unwrap() {
        Err(Error::Remote { error, reply }) => {
            assert_eq!(error.code, codes::METHOD_NOT_FOUND);
            assert_eq!(reply["error"]["message"], "method not found: nope");
        }
        other => panic!("expected a remote error, got {other:?}"),
    }

    let p = plug.clone();
    let call = tokio::spawn(async move { p.request(json!({"method": "both"})).await });
    let (ident, body) = router.recv_json().await;
    router
        .send(vec![
            ident,
            json_frame(
                json!({"id": body["id"], "result": 1, "error": {"code": 1, "message": "x"}}),
            ),
        ])
        .await;
    let err = within(call).await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Protocol { id: 2, .. }), "{err}");
}

#[tokio::test]
async fn the_plug_reconnects_after_the_server_restarts() {
    let router = TestRouter::bind();
    let endpoint = router.endpoint.clone();
    // Long enough for any answered request; the one to the stopped server
    // waits it out.
    let plug = PlugBuilder::new("restart")
        .connect_to(&endpoint)
        .timeout(Duration::from_secs(3))
        .rpc()
        .unwrap();
    let serve_one = |router: Arc<TestRouter>| async move {
        let (ident, body) = router.recv_json().await;
        router
            .send(vec![
                ident,
                json_frame(json!({"id": body["id"], "result": "up"})),
            ])
            .await;
    };
    let router = Arc::new(router);
    let server = tokio::spawn(serve_one(router.clone()));
    assert_eq!(plug.request(json!({})).await.unwrap().result(), "up");
    server.await.unwrap();
    drop(router);

    // Server down: the request ends in a timeout, not a hang.
    let err = plug.request(json!({})).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");

    // Same port again (the one the OS gave us above).
    let router = Arc::new(TestRouter::bind_at(&endpoint));
    let server = tokio::spawn(async move {
        loop {
            serve_one(router.clone()).await;
        }
    });
    // The plug reconnects by itself: until it has, a request times out.
    let r = within(async {
        loop {
            if let Ok(r) = plug.request(json!({})).await {
                return r;
            }
        }
    })
    .await;
    assert_eq!(r.result(), "up");
    server.abort();
}

#[tokio::test]
async fn ten_thousand_requests_in_flight_all_come_back() {
    let router = Arc::new(TestRouter::bind());
    let plug = builder(&router).high_water_mark(0).rpc().unwrap();
    const N: u64 = 10_000;
    let echo = router.clone();
    let server = tokio::spawn(async move {
        for _ in 0..N {
            let (ident, body) = echo.recv_json().await;
            let reply = json!({"id": body["id"], "result": body["n"]});
            echo.send(vec![ident, json_frame(reply)]).await;
        }
    });
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..N {
        let p = plug.clone();
        calls.spawn(async move { (n, p.request(json!({"n": n})).await) });
    }
    let mut ids = std::collections::HashSet::new();
    within(async {
        while let Some(done) = calls.join_next().await {
            let (n, reply) = done.unwrap();
            let reply = reply.unwrap();
            assert_eq!(reply.result(), &json!(n));
            let id = reply.id().as_u64().expect("a counter id");
            assert!(ids.insert(id), "duplicate id {id}");
        }
    })
    .await;
    server.await.unwrap();
    assert_eq!(ids.len() as u64, N);
    assert_eq!(*ids.iter().max().unwrap(), N);
    let s = plug.stats();
    assert_eq!((s.sent, s.replies, s.timeouts, s.in_flight), (N, N, 0, 0));
}

#[tokio::test]
async fn past_max_in_flight_a_fail_plug_refuses_and_a_wait_plug_waits() {
    let router = TestRouter::bind();
    let plug = builder(&router)
        .max_in_flight(2)
        .backpressure(Backpressure::Fail)
        .rpc()
        .unwrap();
    let a = tokio::spawn({
        let p = plug.clone();
        async move { p.request(json!({})).await }
    });
    let b = tokio::spawn({
        let p = plug.clone();
        async move { p.request(json!({})).await }
    });
    let (i1, b1) = router.recv_json().await;
    let (i2, b2) = router.recv_json().await;
    let err = plug.request(json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Busy { limit: 2 }), "{err}");
    for (i, b) in [(i1, b1), (i2, b2)] {
        router
            .send(vec![i, json_frame(json!({"id": b["id"], "result": 0}))])
            .await;
    }
    within(a).await.unwrap().unwrap();
    within(b).await.unwrap().unwrap();

    let waiting = builder(&router)
        .max_in_flight(1)
        .timeout(Duration::from_millis(300))
        .rpc()
        .unwrap();
    let first = tokio::spawn({
        let p = waiting.clone();
        async move { p.request(json!({})).await }
    });
    let _ = router.recv_json().await; // never answered
                                      // It waits for the slot instead of failing at once; the slot frees only
                                      // when the first request times out, just before this one's deadline.
    let err = waiting.request(json!({})).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(within(first).await.unwrap().unwrap_err().is_timeout());
}

#[tokio::test]
async fn seed_style_send_with_a_callback_and_notifications_without_id() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    plug.notify(json!({"method": "tick", "id": 5}))
        .await
        .unwrap();
    let (_, body) = router.recv_json().await;
    assert_eq!(body, json!({"method": "tick"}));

    let (tx, rx) = tokio::sync::oneshot::channel();
    plug.send(json!({"method": "getPlayers"}), move |reply| {
        let names: Vec<String> = reply
            .unwrap()
            .result()
            .as_array()
            .unwrap()
            .iter()
            .take(10)
            .map(|p| p.as_str().unwrap().to_uppercase())
            .collect();
        tx.send(names).unwrap();
    });
    let (ident, body) = router.recv_json().await;
    assert_eq!(body["id"], 1, "notifications do not use up ids");
    router
        .send(vec![
            ident,
            json_frame(json!({"id": 1, "result": ["ann", "bob"]})),
        ])
        .await;
    assert_eq!(within(rx).await.unwrap(), vec!["ANN", "BOB"]);
}

#[tokio::test]
async fn call_writes_method_and_params_after_the_id() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    #[derive(serde::Serialize)]
    struct Move {
        user_id: u32,
        position: [i32; 2],
        note: &'static str,
    }
    let params = Move {
        user_id: 21,
        position: [3, -4],
        note: "a \"quoted\" é",
    };
    let p = plug.clone();
    let call = tokio::spawn(async move { p.call("moveCar", &params).await });
    let m = router.recv().await;
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(
        std::str::from_utf8(&m[1]).unwrap(),
        r#"{"id":1,"method":"moveCar","params":{"user_id":21,"position":[3,-4],"note":"a \"quoted\" é"}}"#
    );
    router
        .send(vec![
            m[0].clone(),
            json_frame(json!({"id": 1, "result": "moved"})),
        ])
        .await;
    let reply = within(call).await.unwrap().unwrap();
    assert_eq!(reply.result(), "moved");

    // Params that are not JSON are refused before the wire, and the plug
    // goes on.
    let mut by_pair = std::collections::HashMap::new();
    by_pair.insert((1, 2), "not a JSON key");
    let err = plug.call("moveCar", &by_pair).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m.contains("params")),
        "{err}"
    );
    assert_eq!(plug.stats().sent, 1);
    let p = plug.clone();
    let call = tokio::spawn(async move { p.call("echo", "hi").await });
    let (ident, body) = router.recv_json().await;
    let id = body["id"].as_u64().expect("a counter id");
    assert_eq!(body, json!({"id": id, "method": "echo", "params": "hi"}));
    router
        .send(vec![ident, json_frame(json!({"id": id, "result": "hi"}))])
        .await;
    assert_eq!(within(call).await.unwrap().unwrap().result(), "hi");
}

#[tokio::test]
async fn not_an_object_is_refused_before_the_wire() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    let err = plug.request(json!([1, 2])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert_eq!(plug.stats().sent, 0);
}

#[tokio::test]
async fn closing_ends_pending_requests() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    let p = plug.clone();
    let call = tokio::spawn(async move { p.request(json!({})).await });
    let _ = router.recv_json().await;
    plug.close();
    assert!(matches!(within(call).await.unwrap(), Err(Error::Closed)));
    assert!(matches!(plug.request(json!({})).await, Err(Error::Closed)));
}

#[tokio::test]
async fn idempotent_requests_are_resent_with_the_same_id_after_a_timeout() {
    let router = TestRouter::bind();
    // The first attempt is never answered; the second is, and its reply
    // has the whole timeout to arrive.
    let plug = builder(&router)
        .timeout(Duration::from_secs(2))
        .retries(2, Duration::from_millis(10))
        .rpc()
        .unwrap();
    let p = plug.clone();
    let call = tokio::spawn(async move { p.request_idempotent(json!({"method": "get"})).await });
    let (_, first) = router.recv_json().await; // dropped: no reply
    let (ident, second) = router.recv_json().await;
    assert_eq!(first, second, "same body, same id");
    router
        .send(vec![
            ident,
            json_frame(json!({"id": second["id"], "result": "ok"})),
        ])
        .await;
    assert_eq!(within(call).await.unwrap().unwrap().result(), "ok");
    let s = plug.stats();
    assert_eq!((s.sent, s.retries, s.timeouts), (2, 1, 0));

    // Nothing answered from here on: a plug with a short timeout.
    let unanswered = builder(&router)
        .timeout(Duration::from_millis(100))
        .retries(2, Duration::from_millis(10))
        .rpc()
        .unwrap();
    // A plain request is never resent.
    let err = unanswered
        .request(json!({"method": "get"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { id: Some(1), .. }), "{err}");
    let _ = router.recv_json().await;
    assert_eq!(unanswered.stats().sent, 1);

    // Out of retries: one timeout error after 1 + 2 attempts.
    let err = unanswered.request_idempotent(json!({})).await.unwrap_err();
    assert!(err.is_timeout());
    let s = unanswered.stats();
    assert_eq!((s.sent, s.retries, s.timeouts), (4, 2, 2));
}

#[tokio::test]
async fn stats_show_whether_the_plug_is_connected() {
    let router = TestRouter::bind();
    let plug = builder(&router).rpc().unwrap();
    assert_eq!(plug.stats().endpoints, 1);
    within(async {
        while !plug.stats().is_connected() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    drop(router);
    within(async {
        while plug.stats().is_connected() || plug.stats().disconnects == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_plugs_while_servers_go_away_never_blocks_libzmq() {
    // libzmq sends monitor events with a blocking send: a plug dropped just
    // before its server disconnects must not leave an event with no reader.
    for _ in 0..10 {
        let router = Arc::new(TestRouter::bind());
        let plug = builder(&router).rpc().unwrap();
        let echo = router.clone();
        let server = tokio::spawn(async move {
            let (ident, body) = echo.recv_json().await;
            echo.send(vec![
                ident,
                json_frame(json!({"id": body["id"], "result": 1})),
            ])
            .await;
        });
        within(plug.request(json!({}))).await.unwrap();
        server.await.unwrap();
        // A closed plug whose handle lives on, then the server goes away.
        plug.close();
        let port: u16 = router.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        drop(router);
        // libzmq queues the DISCONNECTED event for the monitor nobody reads
        // any more, then closes its side: once that side is closed, the
        // event is waiting as the plug is dropped.
        within(async {
            while tcp::open_to(port) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        drop(plug);
    }
    let router = Arc::new(TestRouter::bind());
    let plug = builder(&router).rpc().unwrap();
    let echo = router.clone();
    tokio::spawn(async move {
        let (ident, body) = echo.recv_json().await;
        echo.send(vec![
            ident,
            json_frame(json!({"id": body["id"], "result": "alive"})),
        ])
        .await;
    });
    assert_eq!(
        within(plug.request(json!({}))).await.unwrap().result(),
        "alive"
    );
}

/// `inproc://` runs on libzmq, whose monitor reports no connection for
/// it: the link counts as connected once it has connected, so requests go
/// out (they waited for a connection that was never reported before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inproc_server_in_this_process_answers() {
    let endpoint = "inproc://plug-test-inproc-answers";
    let server = plug::socket::context().socket(zmq::ROUTER).unwrap();
    server.bind(endpoint).unwrap();
    let answering = std::thread::spawn(move || {
        server.set_rcvtimeo(10_000).unwrap();
        let frames = server.recv_multipart(0).expect("a request within 10 s");
        let request: Value = serde_json::from_slice(&frames[1]).unwrap();
        let reply = json!({"id": request["id"], "result": "pong"});
        server
            .send_multipart([frames[0].clone(), serde_json::to_vec(&reply).unwrap()], 0)
            .unwrap();
    });
    let plug = PlugBuilder::new("inproc")
        .connect_to(endpoint)
        .timeout(Duration::from_secs(10))
        .rpc()
        .unwrap();
    let reply = plug.request(json!({"method": "ping"})).await.unwrap();
    assert_eq!(reply.result(), &json!("pong"));
    answering.join().unwrap();
}
