//! `plug-conformance bench`: the JSON fields, both loops, both profiles, and
//! the count `requests_sent == replies_ok + errors + timeouts` when the
//! server dies in the middle of the run.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{broken, temp, BROKEN, HARNESS};
use plug_test_support::tcp::wait_for_bytes_acked;
use serde_json::Value;

/// Starts the harness with `args` plus `--json`; `finish` waits for it.
fn start(args: &[&str], json: &std::path::Path) -> Child {
    let _ = std::fs::remove_file(json);
    Command::new(HARNESS)
        .arg("bench")
        .args(args)
        .arg("--json")
        .arg(json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most `deadline`) and returns the exit code, stdout and the report.
fn finish(mut child: Child, json: &std::path::Path, deadline: Duration) -> (i32, String, Value) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("bench ran longer than {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout {stdout} stderr {stderr}"));
    (
        out.status.code().unwrap_or(-1),
        stdout,
        serde_json::from_str(&text).unwrap(),
    )
}

fn bench(args: &[&str], name: &str) -> (i32, String, Value) {
    let json = temp(name);
    finish(start(args, &json), &json, Duration::from_secs(60))
}

fn n(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("`{field}` is not an integer in {report}"))
}

/// The stable fields are there and every request is accounted for.
fn check_count(report: &Value) {
    for f in ["p50", "p90", "p99", "p999", "max"] {
        assert!(
            report["latency_us"][f].is_u64(),
            "latency_us.{f} in {report}"
        );
    }
    assert!(report["throughput_msgs_per_s"].is_f64(), "{report}");
    assert_eq!(
        n(report, "requests_sent"),
        n(report, "replies_ok") + n(report, "errors") + n(report, "timeouts"),
        "sent == ok + errors + timeouts in {report}"
    );
}

#[test]
fn closed_loop_rpc_counts_every_request() {
    let spawn = broken("none", "rpc");
    let (code, stdout, report) = bench(
        &["--spawn", &spawn, "-n", "500", "-c", "2", "-w", "8", "-q"],
        "closed-rpc.json",
    );
    assert_eq!(code, 0, "{stdout}");
    check_count(&report);
    assert_eq!(n(&report, "requests_sent"), 500);
    assert_eq!(n(&report, "replies_ok"), 500);
    assert_eq!(report["mode"], "closed");
    let l = &report["latency_us"];
    assert!(l["p50"].as_u64() <= l["p99"].as_u64() && l["p99"].as_u64() <= l["max"].as_u64());
    assert!(stdout.contains("latency us p50"), "{stdout}");
}

#[test]
fn closed_loop_raw_checks_the_echo() {
    let spawn = broken("none", "raw");
    let (code, stdout, report) = bench(
        &[
            "--spawn",
            &spawn,
            "--profile",
            "raw",
            "-n",
            "300",
            "-w",
            "4",
            "-s",
            "1000",
            "-q",
        ],
        "closed-raw.json",
    );
    assert_eq!(code, 0, "{stdout}");
    check_count(&report);
    assert_eq!(n(&report, "replies_ok"), 300);
    assert!(report["throughput_mb_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_server_that_breaks_the_echo_is_counted_as_errors() {
    // This server cuts frames over 512 KiB in half: every echo is wrong
    // and none may count as ok.
    let spawn = broken("truncate-big", "raw");
    let (code, stdout, report) = bench(
        &[
            "--spawn",
            &spawn,
            "--profile",
            "raw",
            "-s",
            "600000",
            "-n",
            "20",
            "-w",
            "4",
            "-q",
        ],
        "broken.json",
    );
    check_count(&report);
    assert_eq!(n(&report, "replies_ok"), 0, "{stdout}");
    assert_eq!(n(&report, "errors"), 20, "{stdout}");
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn open_loop_keeps_its_rate() {
    let spawn = broken("none", "rpc");
    let (code, stdout, report) = bench(
        &[
            "--spawn", &spawn, "--rate", "400", "-n", "200", "-c", "2", "-q",
        ],
        "open.json",
    );
    assert_eq!(code, 0, "{stdout}");
    check_count(&report);
    assert_eq!(report["mode"], "open");
    assert_eq!(n(&report, "replies_ok"), 200);
    // 200 requests due over half a second: an open loop never sends
    // ahead of its schedule (how far behind it falls is a benchmark's
    // business, not a test's).
    let took = report["duration_s"].as_f64().unwrap();
    assert!(took >= 0.45, "took {took} s");
}

/// A child process killed if a failed assertion leaves it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kills the server once it is answering the run, early in a five-second
/// run: the requests in flight then and those sent afterwards end as
/// timeouts or errors, and the count still adds up.
fn server_dies_mid_run(extra: &[&str], name: &str) {
    let endpoint = plug_conformance::free_endpoint().unwrap();
    let mut server = KillOnDrop(
        Command::new(BROKEN)
            .args(["--break", "none", "--mode", "rpc", "--bind", &endpoint])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Its one stdout line says it is bound.
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening on"), "{line:?}");
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let json = temp(name);
    let mut args = vec![endpoint.as_str(), "-d", "5000", "--timeout-ms", "300", "-q"];
    args.extend_from_slice(extra);
    let child = start(&args, &json);
    // The run is under way: replies, not only handshakes, have reached the
    // harness.
    wait_for_bytes_acked(port, 4096);
    server.0.kill().unwrap();
    let status = server.0.wait().unwrap();
    let (code, stdout, report) = finish(child, &json, Duration::from_secs(30));
    assert!(!status.success(), "the server was killed");
    check_count(&report);
    assert!(n(&report, "replies_ok") > 0, "{stdout}");
    assert!(
        n(&report, "timeouts") + n(&report, "errors") > 0,
        "requests after the kill must fail: {stdout}"
    );
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn server_killed_mid_run_closed_loop() {
    server_dies_mid_run(&["-w", "16", "-c", "2"], "killed-closed.json");
}

#[test]
fn server_killed_mid_run_open_loop() {
    server_dies_mid_run(&["--rate", "2000"], "killed-open.json");
}

#[test]
fn raw_needs_room_for_the_sequence_number() {
    let json = temp("tiny.json");
    let child = Command::new(HARNESS)
        .args(["bench", "tcp://127.0.0.1:1", "--profile", "raw", "-s", "4"])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(child.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&child.stderr).contains("at least 8"));
}
