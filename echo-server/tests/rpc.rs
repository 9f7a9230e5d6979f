//! Rpc mode on the wire: methods, ids, envelopes and every error rule
//! of PROTOCOL.md §5.5, seen as raw frames.

mod common;

use std::time::{Duration, Instant};

use common::*;
use echo_server::Mode;
use plug::protocol::codes;
use plug::server::ServerConfig;
use serde_json::json;

#[test]
fn methods_answer_with_the_id() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    assert_eq!(
        call(&c, r#"{"id":1,"method":"ping"}"#),
        json!({"id":1,"result":"pong"})
    );
    let params = json!({"text": "h\u{e9}llo \u{1F600}", "nested": [[[{"a": null}]]], "n": -1.5});
    let r = call(
        &c,
        &json!({"id": 2, "method": "echo", "params": params}).to_string(),
    );
    assert_eq!(r, json!({"id": 2, "result": params}));
    assert_eq!(
        call(&c, r#"{"id":3,"method":"echo"}"#),
        json!({"id":3,"result":null})
    );
    let r = call(&c, r#"{"id":4,"method":"sleep","params":{"ms":10}}"#);
    assert_eq!(r, json!({"id":4,"result":{"ms":10}}));
    let r = call(&c, r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#);
    assert_eq!(r, json!({"jsonrpc":"2.0","id":5,"result":"pong"}));
}

#[test]
fn ids_come_back_as_the_same_text() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    for id in [
        "0",
        "-9223372036854775808",
        "18446744073709551615",
        "9007199254740993",
        "123456789012345678901234567890",
        "1.50",
        "1e3",
        "\"\"",
        "\"a\\\"b\\u0000\"",
        "\"\u{1F600}\"",
        "null",
    ] {
        let reply = call_text(&c, &format!(r#"{{"method":"ping","id":{id}}}"#));
        assert_eq!(
            reply,
            format!(r#"{{"id":{id},"result":"pong"}}"#),
            "id {id}"
        );
    }
}

#[test]
fn slow_requests_do_not_hold_up_fast_ones() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    let started = Instant::now();
    send(
        &c,
        &[br#"{"id":"slow","method":"sleep","params":{"ms":400}}"#],
    );
    send(
        &c,
        &[br#"{"id":"fast","method":"sleep","params":{"ms":0}}"#],
    );
    assert_eq!(one_json(&c)["id"], "fast");
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(one_json(&c)["id"], "slow");
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn every_error_rule() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    let cases: &[(&[u8], serde_json::Value, i64)] = &[
        (b"{nope", json!(null), codes::PARSE_ERROR),
        (b"\xff\xfe\x00garbage", json!(null), codes::PARSE_ERROR),
        (b"", json!(null), codes::PARSE_ERROR),
        (b"[1,2]", json!(null), codes::INVALID_REQUEST),
        (b"\"str\"", json!(null), codes::INVALID_REQUEST),
        (
            br#"{"id":{"a":1},"method":"ping"}"#,
            json!(null),
            codes::INVALID_REQUEST,
        ),
        (
            br#"{"id":[1],"method":"ping"}"#,
            json!(null),
            codes::INVALID_REQUEST,
        ),
        (
            br#"{"id":true,"method":"ping"}"#,
            json!(null),
            codes::INVALID_REQUEST,
        ),
        (br#"{"id":7}"#, json!(7), codes::INVALID_REQUEST),
        (br#"{"id":8,"method":5}"#, json!(8), codes::INVALID_REQUEST),
        (
            br#"{"id":9,"method":"nope"}"#,
            json!(9),
            codes::METHOD_NOT_FOUND,
        ),
        (
            br#"{"id":10,"method":"sleep","params":{"ms":-1}}"#,
            json!(10),
            codes::INVALID_PARAMS,
        ),
        (
            br#"{"id":11,"method":"sleep","params":{"ms":60001}}"#,
            json!(11),
            codes::INVALID_PARAMS,
        ),
        (
            br#"{"id":12,"method":"sleep"}"#,
            json!(12),
            codes::INVALID_PARAMS,
        ),
    ];
    for (body, id, want) in cases {
        send(&c, &[body]);
        let r = one_json(&c);
        assert_eq!(code(&r), *want, "{}: {r}", body.escape_ascii());
        assert_eq!(&r["id"], id, "{}: {r}", body.escape_ascii());
        assert!(r.get("result").is_none());
        assert!(r["error"]["message"].is_string());
    }
    let deep = "[".repeat(100_000);
    send(&c, &[deep.as_bytes()]);
    assert_eq!(code(&one_json(&c)), codes::PARSE_ERROR);
    still_serves(&c);
}

#[test]
fn extra_frames_are_an_invalid_request() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    send(&c, &[br#"{"id":1,"method":"ping"}"#, b"extra"]);
    let r = one_json(&c);
    assert_eq!((code(&r), &r["id"]), (codes::INVALID_REQUEST, &json!(null)));
    // Empty first frame plus body is a delimiter, not an extra frame.
    send(&c, &[b"", b"", br#"{"id":2,"method":"ping"}"#]);
    let m = recv(&c);
    assert_eq!(m.len(), 2, "delimiter kept: {m:?}");
    assert!(m[0].is_empty());
    let r: serde_json::Value = serde_json::from_slice(&m[1]).unwrap();
    assert_eq!(code(&r), codes::INVALID_REQUEST);
    still_serves(&c);
}

#[test]
fn notifications_get_no_reply_even_when_they_fail() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    for body in [
        r#"{"method":"ping"}"#,
        r#"{"method":"nope"}"#,
        r#"{"method":"sleep","params":"bad"}"#,
        r#"{}"#,
    ] {
        send(&c, &[body.as_bytes()]);
    }
    still_serves(&c);
    assert!(nothing_within(&c, Duration::from_millis(200)));
    let stats = server.stop();
    assert_eq!(stats.notifications, 4);
}

#[test]
fn delimited_envelopes_and_req_sockets() {
    let server = Server::start(Mode::Rpc);
    let d = dealer(&server.endpoint);
    send(&d, &[b"", br#"{"id":1,"method":"echo","params":"d"}"#]);
    let m = recv(&d);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0], b"");
    assert_eq!(m[1], br#"{"id":1,"result":"d"}"#);

    let req = connect(zmq::REQ, &server.endpoint);
    for i in 0..3 {
        req.send(
            format!(r#"{{"id":{i},"method":"echo","params":{i}}}"#).as_bytes(),
            0,
        )
        .unwrap();
        let reply = req.recv_bytes(0).expect("REQ reply within deadline");
        assert_eq!(reply, format!(r#"{{"id":{i},"result":{i}}}"#).into_bytes());
    }
    req.send(&b"not json"[..], 0).unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&req.recv_bytes(0).unwrap()).unwrap();
    assert_eq!(code(&reply), codes::PARSE_ERROR);
    still_serves(&d);
}

#[test]
fn huge_messages_get_too_large_with_their_id() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    let big = format!(
        r#"{{"id":"big","method":"echo","params":"{}"}}"#,
        "x".repeat(17 * 1024 * 1024)
    );
    let r = call(&c, &big);
    assert_eq!((code(&r), &r["id"]), (codes::TOO_LARGE, &json!("big")));
    let junk = vec![0xffu8; 17 * 1024 * 1024];
    send(&c, &[&junk]);
    let r = one_json(&c);
    assert_eq!((code(&r), &r["id"]), (codes::TOO_LARGE, &json!(null)));
    // Just under the limit is fine.
    let fits = format!(
        r#"{{"id":"fits","method":"echo","params":"{}"}}"#,
        "y".repeat(16 * 1024 * 1024 - 100)
    );
    let r = call(&c, &fits);
    assert_eq!(r["id"], "fits");
    assert_eq!(
        r["result"].as_str().map(str::len),
        Some(16 * 1024 * 1024 - 100)
    );
    still_serves(&c);
}

#[test]
fn too_many_in_flight_gets_overloaded_and_others_are_served() {
    let server = Server::start_with(Mode::Rpc, ServerConfig::rpc().max_in_flight(4));
    let greedy = dealer(&server.endpoint);
    for i in 0..6 {
        send(
            &greedy,
            &[format!(r#"{{"id":{i},"method":"sleep","params":{{"ms":300}}}}"#).as_bytes()],
        );
    }
    let other = dealer(&server.endpoint);
    still_serves(&other);
    let mut overloaded = Vec::new();
    let mut done = Vec::new();
    for _ in 0..6 {
        let r = one_json(&greedy);
        if r.get("error").is_some() {
            assert_eq!(code(&r), codes::OVERLOADED, "{r}");
            overloaded.push(r["id"].as_i64().unwrap());
        } else {
            done.push(r["id"].as_i64().unwrap());
        }
    }
    overloaded.sort();
    done.sort();
    assert_eq!(overloaded, vec![4, 5]);
    assert_eq!(done, vec![0, 1, 2, 3]);
    still_serves(&greedy);
}

#[test]
fn a_peer_that_does_not_read_loses_no_reply_and_blocks_no_one() {
    // More replies than every queue between server and client holds: with
    // ROUTER_MANDATORY the server waits for room instead of dropping.
    let n = 40_000;
    let server = Server::start_with(Mode::Rpc, ServerConfig::rpc().max_in_flight(n));
    let slow = slow_reader(&server.endpoint, n);
    for i in 0..n {
        send(
            &slow,
            &[format!(
                r#"{{"id":{i},"method":"echo","params":"{}"}}"#,
                "p".repeat(1000)
            )
            .as_bytes()],
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let other = dealer(&server.endpoint);
    still_serves(&other);
    let mut seen = vec![false; n];
    for _ in 0..n {
        let r = one_json(&slow);
        let id = r["id"].as_u64().unwrap() as usize;
        assert!(!seen[id], "duplicate reply {id}");
        seen[id] = true;
    }
    assert!(seen.iter().all(|s| *s));
    let stats = server.stop();
    assert_eq!(stats.dropped_full + stats.dropped_gone, 0, "{stats}");
}

#[test]
fn a_vanished_peer_costs_one_logged_reply() {
    let server = Server::start(Mode::Rpc);
    let gone = dealer(&server.endpoint);
    send(
        &gone,
        &[br#"{"id":1,"method":"sleep","params":{"ms":200}}"#],
    );
    std::thread::sleep(Duration::from_millis(50));
    drop(gone);
    std::thread::sleep(Duration::from_millis(400));
    let c = dealer(&server.endpoint);
    still_serves(&c);
    let stats = server.stop();
    assert_eq!(stats.dropped_gone, 1, "{stats}");
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let server = Server::start(Mode::Rpc);
    let c = dealer(&server.endpoint);
    send(
        &c,
        &[br#"{"id":"inflight","method":"sleep","params":{"ms":300}}"#],
    );
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let stats = server.stop();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(one_json(&c), json!({"id":"inflight","result":{"ms":300}}));
    assert_eq!(stats.replied, 1);
}

#[test]
fn a_burst_beyond_the_limit_gets_a_reply_for_every_request() {
    let server = Server::start(Mode::Rpc);
    let n = 5000;
    let c = slow_reader(&server.endpoint, n);
    for i in 0..n {
        send(
            &c,
            &[format!(r#"{{"id":{i},"method":"echo","params":{i}}}"#).as_bytes()],
        );
    }
    let mut seen = vec![false; n];
    let (mut results, mut overloaded) = (0, 0);
    for _ in 0..n {
        let r = one_json(&c);
        let id = r["id"].as_u64().unwrap() as usize;
        assert!(!std::mem::replace(&mut seen[id], true), "duplicate {id}");
        if r.get("error").is_some() {
            assert_eq!(code(&r), codes::OVERLOADED, "{r}");
            overloaded += 1;
        } else {
            results += 1;
        }
    }
    assert!(nothing_within(&c, Duration::from_millis(100)));
    eprintln!("{results} results, {overloaded} overloaded");
    let stats = server.stop();
    assert_eq!(stats.replied, n as u64, "{stats}");
}
