//! Load and limits with the `game-server` binary: 1,000 plugs connected at
//! once, each a player that joins and then drives, asks and pings; every
//! request answered as expected; peak memory of both sides printed. The
//! normal run sends 20 requests per connection after the joins; the full
//! run 1,000 (1,000,000 in all):
//!
//! ```text
//! cargo test --release -p game-server --test load -- --ignored --nocapture
//! ```
//!
//! The limits: a request larger than `--max-message-bytes` gets -32001
//! with its id, and a burst past `--max-in-flight` gets -32002, each with
//! a message naming the limit, while the server goes on serving.

use std::collections::HashSet;
use std::time::Duration;

use plug::protocol::codes;
use plug_test_support::load::{self, Want};
use plug_test_support::process::ServerProcess;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_game-server");

fn join(conn: usize) -> Vec<load::Call> {
    let join = json!({"method": "join", "user_id": conn, "name": format!("p{conn}"),
                      "room": format!("r{}", conn % 100)});
    vec![(join, Want::Member("name", json!(format!("p{conn}"))))]
}

fn play(conn: usize, n: usize) -> load::Call {
    match n % 3 {
        // Moves of one unit, well inside the speed limit in any order.
        0 => {
            let x = 500.0 + (n % 2) as f64;
            let req = json!({"method": "moveCar", "user_id": conn, "position": [x, 500.0]});
            (req, Want::Member("position", json!([x, 500.0])))
        }
        1 => (
            json!({"method": "getPlayer", "params": {"user_id": conn}}),
            Want::Member("name", json!(format!("p{conn}"))),
        ),
        _ => (json!({"method": "ping"}), Want::Exactly(json!("pong"))),
    }
}

fn game_load(per_conn: usize, window: usize, deadline: Duration) {
    let server = ServerProcess::start(BIN, "tcp://127.0.0.1:*", &[]);
    load::run(server, "load_child", 1000, per_conn, window, deadline);
}

/// A client process of the load tests; does nothing when run by itself.
#[test]
#[ignore = "run as a child process by the load tests"]
fn load_child() {
    load::child(join, play);
}

#[test]
fn a_thousand_players_twenty_requests_each() {
    game_load(20, 4, Duration::from_secs(120));
}

#[test]
#[ignore = "the full run: 1,000,000 requests; use --release"]
fn a_thousand_players_a_million_requests() {
    game_load(1000, 16, Duration::from_secs(1200));
}

fn raw_dealer(endpoint: &str) -> zmq::Socket {
    let s = plug::socket::context().socket(zmq::DEALER).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(20_000).unwrap();
    s.set_sndhwm(0).unwrap();
    s.connect(endpoint).unwrap();
    s
}

fn reply(s: &zmq::Socket) -> Value {
    serde_json::from_slice(&s.recv_bytes(0).expect("a reply within 20 s")).unwrap()
}

#[test]
fn message_size_and_in_flight_limits_answer_with_clear_errors() {
    let server = ServerProcess::start(
        BIN,
        "tcp://127.0.0.1:*",
        &["--max-message-bytes", "1000", "--max-in-flight", "1"],
    );
    let s = raw_dealer(&server.endpoint);

    // Too large: -32001 with the request's id and the limit in the message.
    let big = format!(
        r#"{{"id":"big","method":"getPlayers","pad":"{}"}}"#,
        "x".repeat(2000)
    );
    s.send(big.as_bytes(), 0).unwrap();
    let r = reply(&s);
    assert_eq!(r["id"], "big", "{r}");
    assert_eq!(r["error"]["code"], codes::TOO_LARGE, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("1000"),
        "{r}"
    );

    // A burst from one peer with a limit of one in flight: each request
    // gets exactly one reply, a result or -32002 naming the limit. The
    // game's handlers answer at once, so the server finishes each before it
    // takes the next and refuses few or none; echo-server's flood test
    // covers refusals of requests that wait.
    const BURST: u64 = 2000;
    for id in 0..BURST {
        s.send(format!(r#"{{"id":{id},"method":"ping"}}"#).as_bytes(), 0)
            .unwrap();
    }
    let (mut ok, mut overloaded, mut ids) = (0, 0, HashSet::new());
    for _ in 0..BURST {
        let r = reply(&s);
        assert!(ids.insert(r["id"].as_u64().unwrap()), "duplicate {r}");
        match r["error"]["code"].as_i64() {
            None => ok += 1,
            Some(codes::OVERLOADED) => {
                assert!(
                    r["error"]["message"].as_str().unwrap().contains("limit 1"),
                    "{r}"
                );
                overloaded += 1;
            }
            Some(c) => panic!("unexpected error {c}: {r}"),
        }
    }
    eprintln!("burst: sent {BURST}, answered {ok}, refused {overloaded} (-32002)");
    assert_eq!(ok + overloaded, BURST);
    assert!(ok > 0, "ok {ok}, overloaded {overloaded}");
    // And it goes on serving.
    s.send(&br#"{"id":"after","method":"ping"}"#[..], 0)
        .unwrap();
    assert_eq!(reply(&s), json!({"id": "after", "result": "pong"}));
    drop(s);
    let counts = server.terminate();
    assert_eq!(counts.received, BURST + 2);
    assert_eq!(counts.replied, BURST + 2);
}
