//! The real `game-server` binary on the wire: its stdout line, bad input
//! with raw zmq sockets (REQ included), and SIGTERM with exit 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_game-server");
const DEADLINE: Duration = Duration::from_secs(10);

fn start() -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--bind", "tcp://127.0.0.1:*"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let line = BufReader::new(stdout).lines().next().and_then(Result::ok);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(DEADLINE).unwrap().expect("a line");
    let endpoint = line.strip_prefix("listening on ").expect(&line).to_owned();
    assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":*"));
    (child, endpoint)
}

fn socket(kind: zmq::SocketType, endpoint: &str) -> zmq::Socket {
    let s = plug::socket::context().socket(kind).unwrap();
    s.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
    s.set_linger(0).unwrap();
    s.connect(endpoint).unwrap();
    s
}

fn reply(s: &zmq::Socket) -> Value {
    let m = s.recv_multipart(0).expect("a reply within the deadline");
    assert_eq!(m.len(), 1, "{m:?}");
    serde_json::from_slice(&m[0]).unwrap()
}

#[test]
fn bad_input_then_the_game_still_answers_and_sigterm_exits_zero() {
    let (mut child, endpoint) = start();
    let d = socket(zmq::DEALER, &endpoint);
    let huge = vec![b'x'; 17 * 1024 * 1024];
    let bad: Vec<(Vec<&[u8]>, i64)> = vec![
        (vec![b"\x00\xff garbage"], -32700),
        (vec![b"{\"id\":1,"], -32700),
        (vec![b"[1,2,3]"], -32600),
        (vec![b"null"], -32600),
        (vec![b""], -32700),
        (vec![b"{\"id\":1,\"method\":\"ping\"}", b"extra"], -32600),
        (vec![&huge], -32001),
    ];
    for (frames, code) in bad {
        d.send_multipart(frames, 0).unwrap();
        assert_eq!(reply(&d)["error"]["code"], code);
    }
    d.send(
        &br#"{"id":"j","method":"join","user_id":1,"name":"ann"}"#[..],
        0,
    )
    .unwrap();
    assert_eq!(reply(&d)["result"]["name"], "ann");

    let req = socket(zmq::REQ, &endpoint);
    req.send(&br#"{"id":2,"method":"getPlayers"}"#[..], 0)
        .unwrap();
    let r: Value = serde_json::from_slice(&req.recv_bytes(0).expect("REQ reply")).unwrap();
    assert_eq!(r, json!({"id": 2, "result": ["ann"]}));

    let started = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(started.elapsed() < DEADLINE, "game-server did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn help_describes_the_flags() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--bind",
        "--width",
        "--max-speed",
        "--max-players",
        "--max-rooms",
        "--room-capacity",
        "--max-subscribers",
        "listening on",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}
