//! The harness proves itself: every case family fails against a server
//! that breaks its rule and passes against a correct one; hung and crashing
//! servers get a verdict without hanging the harness.

mod common;

use std::time::Duration;

use common::{broken, harness, Run};

const MINUTE: Duration = Duration::from_secs(60);

fn check(spawn: &str, mode: &str, extra: &[&str]) -> Run {
    check_within(spawn, mode, "1500", extra)
}

fn check_within(spawn: &str, mode: &str, timeout_ms: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "check",
        "--spawn",
        spawn,
        "--profile",
        mode,
        "--timeout-ms",
        timeout_ms,
    ];
    args.extend_from_slice(extra);
    harness(&args, 3 * MINUTE)
}

#[test]
fn correct_server_passes_both_profiles() {
    for mode in ["rpc", "raw"] {
        let run = check(&broken("none", mode), mode, &["--strict"]);
        assert_eq!(run.code, 0, "{mode}:\n{}", run.stdout);
        assert_eq!(run.summary("failed"), 0);
        assert_eq!(run.summary("non_strict"), 0);
        assert!(run.summary("passed") > 5);
        assert_eq!(run.json.as_ref().unwrap()["server"]["crashed"], false);
    }
}

/// (family, rule, mode, extra arguments)
const BREAKS: &[(&str, &str, &str, &[&str])] = &[
    ("rpc.id", "id-as-string", "rpc", &[]),
    ("rpc.id", "id-via-float", "rpc", &[]),
    ("rpc.reply", "result-and-error", "rpc", &[]),
    ("rpc.error", "no-parse-error-reply", "rpc", &[]),
    ("rpc.error", "reply-to-notifications", "rpc", &[]),
    ("rpc.envelope", "drop-delimiter", "rpc", &[]),
    ("rpc.robust", "crash-on-garbage", "rpc", &[]),
    ("rpc.robust", "hang-on-garbage", "rpc", &[]),
    ("rpc.method", "result-and-error", "rpc", &[]),
    ("rpc.echo", "mangle-echo", "rpc", &[]),
    ("rpc.concurrency", "mix-clients", "rpc", &[]),
    ("rpc.concurrency", "lose-replies", "rpc", &[]),
    ("rpc.concurrency", "blocking-sleep", "rpc", &[]),
    ("perf.rpc", "slow", "rpc", &["--max-p99-us", "1000"]),
    ("raw.bytes", "mangle-bytes", "raw", &[]),
    ("raw.frames", "reorder-frames", "raw", &[]),
    ("raw.frames", "drop-empty-frames", "raw", &[]),
    ("raw.envelope", "drop-delimiter", "raw", &[]),
    ("raw.size", "truncate-big", "raw", &[]),
    ("raw.order", "lose-replies", "raw", &[]),
    ("raw.clients", "mix-clients", "raw", &[]),
    ("perf.raw", "slow", "raw", &["--max-p99-us", "1000"]),
];

#[test]
fn every_family_fails_against_its_broken_server() {
    let mut families_seen = std::collections::BTreeSet::new();
    for (family, rule, mode, extra) in BREAKS {
        let mut args = vec!["--only", family, "--strict"];
        args.extend_from_slice(extra);
        let run = check(&broken(rule, mode), mode, &args);
        let bad = run.summary("failed") + run.summary("non_strict");
        assert_eq!(
            run.code, 1,
            "{family} against {rule} should fail:\n{}",
            run.stdout
        );
        assert!(bad > 0, "{family} against {rule}: nothing failed");
        families_seen.insert(*family);
        // Every failure says what was expected, what came back, and where.
        for c in run.json.as_ref().unwrap()["cases"].as_array().unwrap() {
            if c["outcome"] == "fail" || c["outcome"] == "non-strict" {
                assert!(c["expected"].is_string() && c["actual"].is_string(), "{c}");
                assert!(c["section"].is_string());
            }
        }
    }
    // Every family of the suite has a break that it catches. The curve.*
    // families need a CURVE server, which the default build cannot run;
    // their refusal cases are checked in the secure build (.ci/curve and
    // client/tests/curve.rs).
    let all: std::collections::BTreeSet<&str> = plug_conformance::all_cases()
        .iter()
        .filter(|c| c.family_of_curve().is_none())
        .map(|c| c.family())
        .collect();
    assert_eq!(all, families_seen);
}

#[test]
fn a_server_that_hangs_mid_run_fails_without_hanging_the_harness() {
    let run = check_within(&broken("hang-after=40", "rpc"), "rpc", "500", &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.took < MINUTE, "took {:?}", run.took);
    assert!(
        run.stdout
            .contains("not run: the server stopped answering after"),
        "{}",
        run.stdout
    );
    assert!(run.summary("passed") > 5);
}

#[test]
fn a_server_that_crashes_mid_run_is_reported() {
    let run = check(&broken("crash-after=40", "rpc"), "rpc", &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let server = &run.json.as_ref().unwrap()["server"];
    assert_eq!(server["crashed"], true, "{server}");
    assert_eq!(server["exit_status"], "exit status 3");
    assert!(server["during"].is_string());
    assert!(
        run.stdout.contains("server crashed during"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_frozen_server_gets_a_verdict() {
    let endpoint = plug_conformance::free_endpoint().unwrap();
    let mut server = std::process::Command::new(common::BROKEN)
        .args(["--break", "none", "--bind", &endpoint])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id() as i32;
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let freezer = std::thread::spawn(move || {
        // Frozen once it is answering the harness, past its first replies.
        plug_test_support::tcp::wait_for_bytes_acked(port, 4096);
        // SAFETY: signals our own child process.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
    });
    let run = harness(&["check", &endpoint, "--timeout-ms", "500"], 2 * MINUTE);
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = server.wait();
    freezer.join().unwrap();
    assert!(run.code == 1 || run.code == 2, "{}", run.stdout);
    if run.code == 1 {
        assert!(run.summary("failed") > 0);
    }
    assert!(run.took < MINUTE, "took {:?}", run.took);
}
