//! The real `echo-server` binary: the stdout line, `--help`, graceful
//! shutdown on SIGTERM and SIGINT with a request in flight, and the JSON
//! line of counters it prints on stderr as it exits.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use plug::server::Stats;
use plug_test_support::process::stopped_stats;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_echo-server");

/// Starts the binary and returns it with the endpoint from its stdout line.
fn start(mode: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--bind", "tcp://127.0.0.1:*", "--mode", mode])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("echo-server starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok);
        let _ = tx.send(first);
        // Anything more on stdout would break tools that read the line.
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        assert!(rest.is_empty(), "extra stdout lines: {rest:?}");
    });
    let line = rx
        .recv_timeout(DEADLINE)
        .expect("a line within the deadline")
        .expect("a line");
    let endpoint = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_owned();
    assert!(
        endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":*"),
        "{endpoint}"
    );
    (child, endpoint)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok);
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("echo-server did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The counters of the `{"event":"stopped",...}` line of an exited child.
fn stopped(child: &mut Child) -> Stats {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stopped_stats(&stderr).unwrap_or_else(|| panic!("no stopped line in:\n{stderr}"))
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_zero() {
    let (mut child, endpoint) = start("rpc");
    let c = dealer(&endpoint);
    still_serves(&c);
    send(
        &c,
        &[br#"{"id":"last","method":"sleep","params":{"ms":1000}}"#],
    );
    // One peer's requests are received in the order sent: once this ping
    // is answered, the sleep has arrived and is in flight.
    still_serves(&c);
    signal(&child, "-TERM");
    assert_eq!(one_json(&c), json!({"id":"last","result":{"ms":1000}}));
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let stats = stopped(&mut child);
    assert_eq!(
        (stats.received, stats.replied, stats.error_replies),
        (3, 3, 0),
        "{stats:?}"
    );
}

#[test]
fn sigint_stops_a_raw_server_with_exit_zero() {
    let (mut child, endpoint) = start("raw");
    let c = dealer(&endpoint);
    send(&c, &[b"a", b"\0", b""]);
    assert_eq!(recv(&c), vec![b"a".to_vec(), b"\0".to_vec(), b"".to_vec()]);
    signal(&child, "-INT");
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let stats = stopped(&mut child);
    assert_eq!((stats.received, stats.replied), (1, 1), "{stats:?}");
}

#[test]
fn help_describes_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--bind",
        "--mode",
        "--max-message-bytes",
        "--max-in-flight",
        "--send-timeout-ms",
        "--drain-ms",
        "listening on",
        "SIGTERM",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn a_bad_endpoint_is_an_error_exit() {
    let out = Command::new(BIN)
        .args(["--bind", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nonsense"));
}
