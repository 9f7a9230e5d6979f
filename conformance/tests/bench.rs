//! `plug-conformance bench` as a user meets it: the JSON fields, both loops
//! and profiles; a server that crashes, is killed or is frozen mid-run (the
//! run stops by itself, costs no CPU while it waits, and still writes its
//! report); SIGINT and SIGTERM; options refused before anything starts;
//! progress, the per-second series and the histogram; saturation; runs,
//! baselines and `compare`; the HTML page in a headless browser.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{broken, temp, HARNESS};
use plug_conformance::bench::{compare, BenchReport};
use plug_conformance::Spawned;
use serde_json::Value;

const MINUTE: Duration = Duration::from_secs(60);

/// A bench process, its output read as it comes.
struct Running {
    pid: i32,
    json: PathBuf,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    started: Instant,
}

/// How a bench process ended.
struct Done {
    code: i32,
    stdout: String,
    stderr: String,
    report: Option<Value>,
    /// User plus system CPU of the whole process.
    cpu: Duration,
    took: Duration,
}

fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            into.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
}

impl Running {
    /// Starts `plug-conformance bench ARGS --json FILE`.
    // Reaped by `finish` with wait4(2), which also gives its CPU time.
    #[allow(clippy::zombie_processes)]
    fn start(args: &[&str], name: &str) -> Running {
        let json = temp(name);
        let _ = std::fs::remove_file(&json);
        let mut child = Command::new(HARNESS)
            .arg("bench")
            .args(args)
            .arg("--json")
            .arg(&json)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), stdout.clone());
        collect(child.stderr.take().unwrap(), stderr.clone());
        Running {
            pid: child.id() as i32,
            json,
            stdout,
            stderr,
            started: Instant::now(),
        }
    }

    /// Waits until stderr shows `what`, at most `limit`.
    fn wait_for(&self, what: &str, seen: impl Fn(&str) -> bool, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !seen(&self.stderr.lock().unwrap()) {
            assert!(
                Instant::now() < deadline,
                "no {what} within {limit:?}; stderr:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a progress line with replies counted: the load is flowing.
    fn wait_for_replies(&self) {
        self.wait_for(
            "progress line with ok > 0",
            |e| ok_in_progress(e) > 0,
            MINUTE,
        );
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on a child this test started and has not reaped.
        unsafe { libc::kill(self.pid, signal) };
    }

    /// CPU used so far (/proc, clock ticks).
    fn cpu_now(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no memory arguments.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }

    /// Waits (at most `limit`) for the process to end.
    fn finish(self, limit: Duration) -> Done {
        let deadline = self.started + limit;
        let (status, usage) = loop {
            let mut status = 0;
            // SAFETY: a zeroed rusage filled by wait4 for our own child.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            let r = unsafe { libc::wait4(self.pid, &mut status, libc::WNOHANG, &mut usage) };
            if r == self.pid {
                break (status, usage);
            }
            if Instant::now() > deadline {
                self.signal(libc::SIGKILL);
                panic!(
                    "bench ran longer than {limit:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -libc::WTERMSIG(status)
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        // The readers finish once the pipes close.
        let deadline = Instant::now() + Duration::from_secs(10);
        let text = |s: &Arc<Mutex<String>>| s.lock().unwrap().clone();
        while Arc::strong_count(&self.stdout) > 1 || Arc::strong_count(&self.stderr) > 1 {
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let report = std::fs::read_to_string(&self.json)
            .ok()
            .map(|t| serde_json::from_str(&t).unwrap());
        Done {
            code,
            stdout: text(&self.stdout),
            stderr: text(&self.stderr),
            report,
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
            took: self.started.elapsed(),
        }
    }
}

impl Done {
    fn report(&self) -> &Value {
        self.report.as_ref().unwrap_or_else(|| {
            panic!(
                "no JSON report; exit {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

/// The highest `ok N` of the plain progress lines.
fn ok_in_progress(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| l.split("  ok ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|n| n.replace(',', "").parse().ok())
        .max()
        .unwrap_or(0)
}

fn bench(args: &[&str], name: &str) -> Done {
    Running::start(args, name).finish(MINUTE)
}

fn n(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("`{field}` is not an integer in {report}"))
}

/// The stable fields are there and every request is accounted for, in the
/// totals and in every run.
fn check_count(report: &Value) {
    for f in ["p50", "p90", "p99", "p999", "max"] {
        assert!(
            report["latency_us"][f].is_u64(),
            "latency_us.{f} in {report}"
        );
    }
    assert!(report["throughput_msgs_per_s"].is_f64(), "{report}");
    for r in std::iter::once(report).chain(report["runs"].as_array().unwrap()) {
        assert_eq!(
            n(r, "requests_sent"),
            n(r, "replies_ok") + n(r, "errors") + n(r, "timeouts"),
            "sent == ok + errors + timeouts in {r}"
        );
    }
}

/// A server of our own (not started by bench), listening.
fn server(mode: &str) -> Spawned {
    server_breaking("none", mode)
}

fn server_breaking(rule: &str, mode: &str) -> Spawned {
    let server = Spawned::start(&broken(rule, mode), false).unwrap();
    let addr = server.endpoint.trim_start_matches("tcp://").to_owned();
    let deadline = Instant::now() + MINUTE;
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

fn signal_group(server: &Spawned, signal: i32) {
    // SAFETY: kill(2) on the process group of a child we started.
    unsafe { libc::kill(-(server.pid() as libc::pid_t), signal) };
}

#[test]
fn closed_loop_rpc_counts_every_request() {
    let spawn = broken("none", "rpc");
    let run = bench(
        &["--spawn", &spawn, "-n", "500", "-c", "2", "-w", "8", "-q"],
        "closed-rpc.json",
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    check_count(report);
    assert_eq!(n(report, "requests_sent"), 500);
    assert_eq!(n(report, "replies_ok"), 500);
    assert_eq!(report["mode"], "closed");
    assert_eq!(report["stop"]["reason"], "completed");
    let l = &report["latency_us"];
    assert!(l["p50"].as_u64() <= l["p99"].as_u64() && l["p99"].as_u64() <= l["max"].as_u64());
    assert!(run.stdout.contains("  latency     p50 "), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "-q: no progress: {}", run.stderr);
}

#[test]
fn closed_loop_raw_checks_the_echo() {
    let spawn = broken("none", "raw");
    let run = bench(
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
    assert_eq!(run.code, 0, "{}", run.stdout);
    check_count(run.report());
    assert_eq!(n(run.report(), "replies_ok"), 300);
    assert!(run.report()["throughput_mb_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_server_that_breaks_the_echo_is_counted_as_errors() {
    // This server cuts frames over 512 KiB in half: every echo is wrong
    // and none may count as ok.
    let spawn = broken("truncate-big", "raw");
    let run = bench(
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
    let report = run.report();
    check_count(report);
    assert_eq!(n(report, "replies_ok"), 0, "{}", run.stdout);
    assert_eq!(n(report, "errors"), 20, "{}", run.stdout);
    assert!(
        report["error_samples"][0]
            .as_str()
            .unwrap()
            .contains("echo of 300000 bytes"),
        "{report}"
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn open_loop_keeps_its_rate() {
    let spawn = broken("none", "rpc");
    let run = bench(
        &[
            "--spawn", &spawn, "--rate", "400", "-n", "200", "-c", "2", "-q",
        ],
        "open.json",
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.report();
    check_count(report);
    assert_eq!(report["mode"], "open");
    assert_eq!(n(report, "replies_ok"), 200);
    // 200 requests due over half a second.
    let took = report["duration_s"].as_f64().unwrap();
    assert!((0.45..5.0).contains(&took), "took {took} s");
}

/// The crash of issue #15: the server exits after 3000 messages. The run
/// stops by itself, says so, writes its report and exits 1.
#[test]
fn a_spawned_server_that_crashes_stops_the_run() {
    let spawn = format!(
        "{} --break crash-after=3000 --mode rpc --bind {{endpoint}}",
        common::BROKEN
    );
    let run = bench(
        &["--spawn", &spawn, "-c", "2", "-w", "8", "-n", "20000", "-q"],
        "crash.json",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.report();
    check_count(report);
    assert_eq!(report["stop"]["reason"], "server gone", "{report}");
    assert!(
        report["stop"]["detail"]
            .as_str()
            .unwrap()
            .contains("the server exited (exit status 3)"),
        "{report}"
    );
    assert!(n(report, "replies_ok") > 0 && n(report, "requests_sent") < 20000);
    assert!(
        run.stdout.contains("  stopped     server gone at "),
        "{}",
        run.stdout
    );
}

/// A server we did not start dies: no connection and no reply for longer
/// than the timeout is enough to stop.
fn killed_mid_run(extra: &[&str], name: &str) {
    let mut server = server("rpc");
    let endpoint = server.endpoint.clone();
    let mut args = vec![endpoint.as_str(), "-d", "600000", "--timeout-ms", "500"];
    args.extend_from_slice(extra);
    let bench = Running::start(&args, name);
    bench.wait_for_replies();
    signal_group(&server, libc::SIGKILL);
    let run = bench.finish(MINUTE);
    assert!(server.exited().is_some(), "the server was killed");
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.report();
    check_count(report);
    assert_eq!(report["stop"]["reason"], "server gone", "{report}");
    assert!(
        report["stop"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("no reply and no connection for"),
        "{report}"
    );
    assert!(n(report, "replies_ok") > 0);
    // Ten minutes of sending asked for; the run ended soon after the kill.
    assert!(report["duration_s"].as_f64().unwrap() < 60.0, "{report}");
}

#[test]
fn a_server_killed_mid_run_stops_the_closed_loop() {
    killed_mid_run(&["-w", "16", "-c", "2"], "killed-closed.json");
}

#[test]
fn a_server_killed_mid_run_stops_the_open_loop() {
    killed_mid_run(&["--rate", "2000"], "killed-open.json");
}

/// A frozen server keeps its connections up and answers nothing: the
/// timeouts in a row tell it, and the wait for them costs no CPU.
#[test]
fn a_frozen_server_stops_the_run_and_the_wait_costs_no_cpu() {
    let server = server("rpc");
    let bench = Running::start(
        &[
            &server.endpoint,
            "-d",
            "600000",
            "-c",
            "2",
            "-w",
            "8",
            "--timeout-ms",
            "1500",
        ],
        "frozen.json",
    );
    bench.wait_for_replies();
    signal_group(&server, libc::SIGSTOP);
    let frozen_at = Instant::now();
    let cpu_at_freeze = bench.cpu_now();
    let run = bench.finish(MINUTE);
    let frozen_for = frozen_at.elapsed();
    signal_group(&server, libc::SIGCONT);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.report();
    check_count(report);
    assert_eq!(report["stop"]["reason"], "server gone", "{report}");
    let detail = report["stop"]["detail"].as_str().unwrap();
    assert!(detail.contains("timeouts in a row"), "{detail}");
    assert!(frozen_for >= Duration::from_millis(1500), "{frozen_for:?}");
    // Waiting out the timeout must not spin: a busy loop would burn most
    // of a core for the whole freeze.
    let cpu = run.cpu.saturating_sub(cpu_at_freeze);
    assert!(
        cpu < frozen_for / 5,
        "{cpu:?} of CPU while the server was frozen for {frozen_for:?}"
    );
}

#[test]
fn sigint_stops_the_run_with_a_partial_report() {
    let spawn = broken("none", "rpc");
    for (signal, code, name) in [
        (libc::SIGINT, 130, "SIGINT"),
        (libc::SIGTERM, 143, "SIGTERM"),
    ] {
        let bench = Running::start(
            &["--spawn", &spawn, "-d", "600000", "--rate", "1000"],
            &format!("interrupted-{name}.json"),
        );
        bench.wait_for_replies();
        bench.signal(signal);
        let run = bench.finish(MINUTE);
        assert_eq!(run.code, code, "{}{}", run.stdout, run.stderr);
        let report = run.report();
        check_count(report);
        assert_eq!(report["stop"]["reason"], "interrupted");
        assert_eq!(report["stop"]["detail"], name);
        // A healthy server: the requests in flight were let finish.
        assert_eq!(n(report, "abandoned"), 0, "{report}");
        assert!(n(report, "replies_ok") > 0);
        assert!(
            run.stdout.contains("  stopped     interrupted at "),
            "{}",
            run.stdout
        );
    }
}

/// Against a server that stopped answering, the first SIGINT waits for the
/// requests in flight; a second one ends them at once.
#[test]
fn a_second_sigint_stops_at_once() {
    // It answers 500 messages and then none: once it says it hangs, the
    // request that made it hang is in flight and is sure never to be
    // answered. (A server frozen at some moment may have answered every
    // request in flight already, and the replies in the socket end the run
    // at the first SIGINT.)
    let server = server_breaking("hang-after=500", "rpc");
    let bench = Running::start(
        &[
            &server.endpoint,
            "-d",
            "600000",
            "-w",
            "4",
            "--timeout-ms",
            "120000",
        ],
        "twice.json",
    );
    let deadline = Instant::now() + MINUTE;
    while !server
        .output_tail()
        .iter()
        .any(|l| l.contains("hanging: no more replies"))
    {
        assert!(Instant::now() < deadline, "the server did not hang");
        std::thread::sleep(Duration::from_millis(20));
    }
    bench.signal(libc::SIGINT);
    bench.wait_for(
        "the note about a second interrupt",
        |e| e.contains("interrupt again to stop now"),
        MINUTE,
    );
    bench.signal(libc::SIGINT);
    let run = bench.finish(MINUTE);
    drop(server);
    assert_eq!(run.code, 130, "{}", run.stdout);
    let report = run.report();
    check_count(report);
    assert_eq!(report["stop"]["reason"], "interrupted");
    // The first signal let the requests in flight go on; the second ended them.
    assert_eq!(
        report["stop"]["detail"],
        "SIGINT, then again: the requests in flight were abandoned"
    );
    assert!(n(report, "abandoned") > 0, "{report}");
    assert!(run.took < Duration::from_secs(100), "not the 120 s timeout");
}

#[test]
fn bad_options_are_refused_before_anything_starts() {
    let dir = temp("options");
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{\"not\": \"a report\"}").unwrap();
    let garbage = garbage.display().to_string();
    let ep = "tcp://127.0.0.1:1";
    for (args, option) in [
        (vec![ep, "--size", "99999999999"], "--size"),
        (vec![ep, "--concurrency", "0"], "--concurrency"),
        (vec![ep, "--window", "0"], "--window"),
        (vec![ep, "-n", "0"], "--requests"),
        (vec![ep, "--duration-ms", "0"], "--duration-ms"),
        (vec![ep, "--timeout-ms", "0"], "--timeout-ms"),
        (vec![ep, "--rate", "0"], "--rate"),
        (vec![ep, "--rate", "NaN"], "--rate"),
        (vec![ep, "--runs", "0"], "--runs"),
        (vec![ep, "--gone-after", "0"], "--gone-after"),
        (vec![ep, "--profile", "raw", "-s", "4"], "--size"),
        (vec![ep, "--html", "/nonexistent/x.html"], "--html"),
        (vec![ep, "--baseline", "/nonexistent/x.json"], "--baseline"),
        (vec![ep, "--baseline", &garbage], "--baseline"),
        (vec!["nonsense"], "ENDPOINT"),
        (vec!["--spawn", "./server"], "--spawn"),
    ] {
        let run = bench(&args, "refused.json");
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("plug-conformance: {option}: ")),
            "{args:?} must name {option}: {}",
            run.stderr
        );
        assert!(run.report.is_none(), "{args:?} wrote a report");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    // --json itself, checked before the run rather than after it.
    let out = Command::new(HARNESS)
        .args(["bench", ep, "--json", "/nonexistent/x.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--json: cannot write /nonexistent/x.json")
    );
}

#[test]
fn an_unreachable_server_measures_nothing_and_exits_1() {
    let endpoint = plug_conformance::free_endpoint().unwrap();
    let run = bench(
        &[&endpoint, "--timeout-ms", "300", "-q"],
        "unreachable.json",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no answer within 300 ms"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_json_has_a_series_a_second_and_the_histogram() {
    let spawn = broken("none", "rpc");
    let run = bench(
        &["--spawn", &spawn, "--rate", "1000", "-d", "2500", "-c", "2"],
        "series.json",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report();
    check_count(report);
    let series = report["series"].as_array().unwrap();
    assert!(series.len() >= 3, "{series:?}");
    let sum = |f: &str| series.iter().map(|s| s[f].as_u64().unwrap()).sum::<u64>();
    for (f, total) in [
        ("ok", "replies_ok"),
        ("errors", "errors"),
        ("timeouts", "timeouts"),
    ] {
        assert_eq!(sum(f), n(report, total), "series {f}");
    }
    assert_eq!(sum("sent"), n(report, "requests_sent"));
    // Seconds follow each other; a second with replies has its latency.
    for (i, s) in series.iter().enumerate() {
        assert_eq!(s["t_s"].as_u64(), Some(i as u64), "{s}");
        if s["ok"].as_u64().unwrap() > 0 {
            assert!(s["p50_us"].as_u64().unwrap() <= s["p99_us"].as_u64().unwrap());
        } else {
            assert!(s["p50_us"].is_null(), "{s}");
        }
    }
    assert!(series.iter().filter(|s| s["ok"].as_u64() > Some(0)).count() >= 2);
    let buckets = report["histogram"]["buckets"].as_array().unwrap();
    let counted: u64 = buckets.iter().map(|b| b[1].as_u64().unwrap()).sum();
    assert_eq!(counted, n(report, "replies_ok"));
    assert_eq!(report["histogram"]["unit"], "us");
    // Not a terminal: a plain progress line a second.
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("  sent "))
        .collect();
    assert!(lines.len() >= 2, "{}", run.stderr);
    for part in [" s  sent ", "  ok ", "  errors ", "  timeouts ", "/s  p99 "] {
        assert!(lines[0].contains(part), "{part} in {}", lines[0]);
    }
}

#[test]
fn progress_is_redrawn_on_a_terminal() {
    if !Path::new("/usr/bin/script").exists() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED progress_is_redrawn_on_a_terminal: /usr/bin/script is not installed ***\n"
        );
        return;
    }
    let spawn = broken("none", "rpc");
    let command = format!("{HARNESS} bench --spawn '{spawn}' --rate 1000 -d 1500 >/dev/null");
    // script(1) gives the command a terminal; what it drew comes out here.
    let out = Command::new("/usr/bin/script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    let drawn = String::from_utf8_lossy(&out.stdout);
    assert!(drawn.contains("  sent "), "{drawn:?}");
    assert!(
        drawn.contains('\r') || drawn.contains("\x1b["),
        "redrawn in place: {drawn:?}"
    );
}

#[test]
fn an_open_loop_that_cannot_keep_its_rate_says_so() {
    let spawn = broken("none", "raw");
    let run = bench(
        &[
            "--spawn",
            &spawn,
            "--profile",
            "raw",
            "--rate",
            "100000000",
            "-n",
            "20000",
            "-q",
        ],
        "saturated.json",
    );
    let report = run.report();
    check_count(report);
    let warnings = report["saturation"].as_array().unwrap();
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("target rate not reached: 100,000,000 req/s asked"),
        "{warnings:?}"
    );
    assert!(
        run.stdout.contains("  warning     target rate not reached"),
        "{}",
        run.stdout
    );
    assert!(report["client_cpu"]["per_request_us"].as_f64().unwrap() > 0.0);
    assert!(run.stdout.contains("  client CPU  "), "{}", run.stdout);
}

#[test]
fn runs_give_the_median_and_the_spread() {
    let spawn = broken("none", "rpc");
    let run = bench(
        &[
            "--spawn", &spawn, "--runs", "3", "-n", "300", "-w", "4", "-q",
        ],
        "runs.json",
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.report();
    check_count(report);
    assert_eq!(report["runs"].as_array().unwrap().len(), 3);
    assert_eq!(n(report, "requests_sent"), 900, "totals over the runs");
    let t = &report["spread"]["throughput_msgs_per_s"];
    let (lo, mid, hi) = (
        t["min"].as_f64().unwrap(),
        t["median"].as_f64().unwrap(),
        t["max"].as_f64().unwrap(),
    );
    // The spread is that of the runs themselves: their middle, lowest and
    // highest throughput.
    let mut each: Vec<f64> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["throughput_msgs_per_s"].as_f64().unwrap())
        .collect();
    each.sort_by(f64::total_cmp);
    assert_eq!((lo, mid, hi), (each[0], each[1], each[2]), "{t}");
    assert_eq!(report["throughput_msgs_per_s"].as_f64().unwrap(), mid);
    let runs_in_series: std::collections::BTreeSet<u64> = report["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["run"].as_u64().unwrap())
        .collect();
    assert_eq!(runs_in_series.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert!(run.stdout.contains("3 runs"), "{}", run.stdout);
    assert!(run.stdout.contains("msgs/s median ("), "{}", run.stdout);
}

#[test]
fn a_baseline_is_printed_beside_the_run() {
    let spawn = broken("none", "rpc");
    let first = bench(&["--spawn", &spawn, "-n", "300", "-q"], "baseline.json");
    assert_eq!(first.code, 0);
    let baseline = temp("baseline.json").display().to_string();
    let second = bench(
        &[
            "--spawn",
            &spawn,
            "-n",
            "300",
            "-q",
            "--baseline",
            &baseline,
        ],
        "after-baseline.json",
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stdout.contains(&format!(
            "compare {baseline} (before) with this run (after)"
        )),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("  latency p99 "),
        "{}",
        second.stdout
    );
}

/// A report as the JSON holds it, with the figures given.
fn fixed(throughput: f64, p99: u64, runs: &[(f64, u64)]) -> BenchReport {
    let figures = |throughput: f64, p99: u64| {
        serde_json::json!({
            "stop": {"reason": "completed", "at_s": null, "detail": null},
            "requests_sent": 10000, "replies_ok": 10000, "errors": 0, "timeouts": 0,
            "abandoned": 0, "late_replies": 0, "unmatched_replies": 0,
            "duration_s": 1.0,
            "throughput_msgs_per_s": throughput, "throughput_mb_per_s": throughput * 64e-6,
            "latency_us": {"p50": p99 / 3, "p90": p99 / 2, "p99": p99, "p999": p99 * 2,
                           "max": p99 * 10, "mean": p99 as f64 / 3.0},
            "client_cpu": {"cpu_s": 0.5, "per_request_us": 2.5,
                           "busiest_thread": "bench-conn-0", "busiest_share": 0.4}
        })
    };
    let mut v = figures(throughput, p99);
    let extra = serde_json::json!({
        "tool": "plug-conformance bench", "version": "0.1.0",
        "endpoint": "tcp://127.0.0.1:5555", "profile": "rpc", "mode": "closed",
        "concurrency": 2, "window": 16, "rate": null, "size": 64, "timeout_ms": 5000,
        "requests": 10000, "duration_ms": null, "warmup_ms": 0,
        "saturation": [], "error_samples": [], "series": [],
        "histogram": {"unit": "us", "significant_figures": 3, "buckets": []},
        "runs": runs.iter().map(|&(t, p)| figures(t, p)).collect::<Vec<_>>(),
        "spread": null,
    });
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut r: BenchReport = serde_json::from_value(v).unwrap();
    if runs.len() > 1 {
        let (total, spread) = plug_conformance::bench::Figures::combine(&r.runs);
        r.figures = total;
        r.spread = spread;
    }
    r
}

#[test]
fn compare_prints_both_side_by_side() {
    let before = fixed(50_000.0, 300, &[(50_000.0, 300)]);
    let after = fixed(60_000.0, 250, &[(60_000.0, 250)]);
    insta::assert_snapshot!(
        "compare_single",
        compare::render(&before, "before.json", &after, "after.json")
    );
    let before = fixed(
        50_000.0,
        300,
        &[(49_000.0, 290), (50_000.0, 300), (51_000.0, 320)],
    );
    let after = fixed(
        60_000.0,
        305,
        &[(59_000.0, 280), (60_000.0, 305), (62_000.0, 330)],
    );
    insta::assert_snapshot!(
        "compare_runs",
        compare::render(&before, "before.json", &after, "after.json")
    );
    // The command prints the same.
    let dir = temp("compare");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("before.json"), dir.join("after.json"));
    std::fs::write(&a, before.to_json()).unwrap();
    std::fs::write(&b, after.to_json()).unwrap();
    let out = Command::new(HARNESS)
        .current_dir(&dir)
        .args(["compare", "before.json", "after.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        compare::render(&before, "before.json", &after, "after.json")
    );
    let out = Command::new(HARNESS)
        .args(["compare", "/nonexistent/a.json", &b.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The page of a real run, rendered in headless Chromium.
#[test]
fn the_html_page_renders_in_a_headless_browser() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED the_html_page_renders_in_a_headless_browser: /usr/bin/chromium is not installed ***\n"
        );
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true requires /usr/bin/chromium for the HTML page test"
        );
        return;
    }
    let spawn = broken("none", "rpc");
    let page = temp("bench.html");
    let page_arg = page.display().to_string();
    let run = bench(
        &[
            "--spawn", &spawn, "--rate", "2000", "-d", "2200", "-q", "--html", &page_arg,
        ],
        "html.json",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains(" src=") && !html.contains(" href="),
        "self-contained"
    );
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let section = |id: &str| -> String {
        let start = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in {dom}"));
        let rest = &dom[start..];
        rest[..rest
            .find("</figure>")
            .or_else(|| rest.find("</table>"))
            .unwrap()]
            .to_owned()
    };
    // The settings of the run.
    let settings = section("settings");
    assert!(
        settings.contains("<th>connections</th><td>1</td>"),
        "{settings}"
    );
    assert!(
        settings.contains("open loop, 2,000 requests/s in all"),
        "{settings}"
    );
    // Each chart is an SVG with its data drawn (the first series' colour,
    // twice as thick as the axes); the latency curve's percentile axis is
    // labelled in percentiles.
    let points = |figure: &str| -> usize {
        let at = figure
            .find(r##"stroke="#1F77B4" stroke-width="2" points=""##)
            .unwrap_or_else(|| panic!("no data line in {figure}"));
        let rest = &figure[at..];
        let list = rest.split("points=\"").nth(1).unwrap();
        list[..list.find('"').unwrap()].split_whitespace().count()
    };
    for (id, at_least) in [("latency", 10), ("throughput", 2), ("failures", 2)] {
        let figure = section(id);
        assert!(figure.contains("<svg"), "#{id}: {figure}");
        assert!(points(&figure) >= at_least, "#{id}: {figure}");
    }
    let latency = section("latency");
    for tick in ["90%", "99%", "99.9%"] {
        assert!(
            latency.contains(&format!("\n{tick}\n")),
            "{tick} in {latency}"
        );
    }
    assert!(section("throughput").contains("ok replies per second"));
}

#[test]
fn raw_needs_room_for_the_sequence_number() {
    let run = bench(
        &["tcp://127.0.0.1:1", "--profile", "raw", "-s", "4"],
        "tiny.json",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("at least 8"), "{}", run.stderr);
}

/// The summary a user reads, for a run stopped early and for several runs.
#[test]
fn the_summary_is_pinned() {
    let mut gone = fixed(56_211.0, 5_341_183, &[(56_211.0, 5_341_183)]);
    let stop = plug_conformance::bench::StopInfo {
        reason: "server gone".into(),
        at_s: Some(2.1),
        detail: Some("no reply and no connection for 5.00 s".into()),
    };
    gone.figures.stop = stop.clone();
    gone.runs[0].stop = stop;
    gone.figures.errors = 16;
    gone.figures.abandoned = 16;
    gone.figures.requests_sent += 16;
    gone.figures.late_replies = 3;
    gone.saturation = vec!["the client was near its limit: thread bench-conn-0 used 97% of a core, so these figures measure the client, not the server".into()];
    gone.error_samples = vec!["the run was stopped with requests in flight".into()];
    insta::assert_snapshot!("summary_gone", gone.to_string());
    let runs = fixed(
        50_000.0,
        300,
        &[(49_000.0, 290), (50_000.0, 300), (51_000.0, 1_320)],
    );
    insta::assert_snapshot!("summary_runs", runs.to_string());
}
