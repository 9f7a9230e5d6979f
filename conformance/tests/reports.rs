//! The report formats, pinned with insta snapshots, and the HTML page
//! checked in a real headless browser when one is installed.

mod common;

use std::io::Write;
use std::time::Duration;

use plug_conformance::report::{self, CaseResult, Outcome, ProfileEndpoint, Report, ServerInfo};
use plug_conformance::{Profile, Requirement};

fn case(id: &str, outcome: Outcome, requirement: Requirement) -> CaseResult {
    let failed = outcome == Outcome::Fail || outcome == Outcome::NonStrict;
    CaseResult {
        id: id.to_owned(),
        family: plug_conformance::family_of(id).to_owned(),
        profile: if id.starts_with("raw") {
            Profile::Raw
        } else {
            Profile::Rpc
        },
        requirement,
        section: "5.2".to_owned(),
        rules: vec!["5.2-a".to_owned(), "5.3-d".to_owned()],
        summary: format!("summary of {id}"),
        outcome,
        expected: failed.then(|| "a reply with id 7 <exactly>".to_owned()),
        actual: failed.then(|| "id \"7\" & a string".to_owned()),
        hint: failed.then(|| "the numeric id came back as a string".to_owned()),
        detail: match outcome {
            Outcome::Info => Some("12345 round trips/s".to_owned()),
            Outcome::Unimplemented => {
                Some("the optional method `sleep` is not implemented (-32601, §6)".to_owned())
            }
            Outcome::NotRun => Some("not run: the server exited".to_owned()),
            _ => None,
        },
        duration_ms: 12,
        expected_failure: false,
        trace: vec![
            r#"A -> "{\"id\":7,\"method\":\"ping\"}""#.to_owned(),
            r#"A <- "{\"id\":\"7\",\"result\":\"pong\"}" "\x00\xff""#.to_owned(),
        ],
        server_output: if outcome == Outcome::Fail {
            vec!["handled ping <7>".to_owned()]
        } else {
            Vec::new()
        },
    }
}

fn fixed_report() -> Report {
    let mut xfail = case("rpc.id.str-long", Outcome::Fail, Requirement::Must);
    xfail.expected_failure = true;
    let cases = vec![
        case("rpc.id.int-zero", Outcome::Pass, Requirement::Must),
        case("rpc.id.int-negative", Outcome::Fail, Requirement::Must),
        xfail,
        case(
            "rpc.id.int-beyond-64-bits",
            Outcome::NonStrict,
            Requirement::Should,
        ),
        case("rpc.method.sleep", Outcome::Unimplemented, Requirement::May),
        case("perf.rpc.throughput", Outcome::Info, Requirement::Info),
        case("rpc.robust.garbage", Outcome::NotRun, Requirement::Must),
        case("raw.bytes.all-256", Outcome::Pass, Requirement::Must),
    ];
    Report::new(
        vec![
            ProfileEndpoint {
                profile: Profile::Rpc,
                endpoint: "tcp://127.0.0.1:5555".into(),
            },
            ProfileEndpoint {
                profile: Profile::Raw,
                endpoint: "tcp://127.0.0.1:5556".into(),
            },
        ],
        false,
        cases,
        1234,
        Some(ServerInfo {
            command: "./run tcp://127.0.0.1:5555 rpc".into(),
            crashed: true,
            exit_status: Some("exit status 3".into()),
            during: Some("rpc.id.int-negative".into()),
            output_tail: vec!["Traceback: boom".into()],
            restarts: Vec::new(),
        }),
    )
}

#[test]
fn summary_counts() {
    let r = fixed_report();
    let s = &r.summary;
    assert_eq!(
        (
            s.passed,
            s.failed,
            s.non_strict,
            s.unimplemented,
            s.info,
            s.not_run,
            s.expected_failures,
            s.total
        ),
        (2, 1, 1, 1, 1, 1, 1, 8)
    );
    assert_eq!(r.failed_ids(), ["rpc.id.int-negative"]);
    assert!(!r.ok);
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn terminal_snapshot() {
    let r = fixed_report();
    insta::assert_snapshot!("terminal", report::terminal::render(&r, false, true));
    let colored = report::terminal::render(&r, true, false);
    assert!(colored.contains("\x1b[1;31mFAIL"));
}

#[test]
fn json_snapshot() {
    let r = fixed_report();
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    insta::assert_json_snapshot!("json", v, {".version" => "[version]"});
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", report::junit::render(&fixed_report()));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", report::html::render(&fixed_report()));
}

#[test]
fn live_json_report_is_stable_apart_from_times_and_ports() {
    let spawn = common::broken("id-as-string", "rpc");
    let run = common::harness(
        &[
            "check",
            "--spawn",
            &spawn,
            "--only",
            "rpc.id.int-zero",
            "--only",
            "rpc.id.str-empty",
            "--timeout-ms",
            "1500",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, 1);
    insta::assert_json_snapshot!("live", run.json.unwrap(), {
        ".cases[].server_output" => "[output]",
        ".version" => "[version]",
        ".duration_ms" => "[ms]",
        ".cases[].duration_ms" => "[ms]",
        ".endpoints[].endpoint" => "[endpoint]",
        ".server.command" => "[command]",
        ".server.output_tail" => "[output]",
    });
}

/// Renders the page in headless Chromium and reads the DOM it built.
#[test]
fn html_report_renders_in_a_headless_browser() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        // Straight to stderr: test output capture would hide eprintln!.
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED html_report_renders_in_a_headless_browser: /usr/bin/chromium is not installed ***\n");
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true requires /usr/bin/chromium for the HTML report test"
        );
        return;
    }
    let page = common::temp("report.html");
    std::fs::write(&page, report::html::render(&fixed_report())).unwrap();
    let out = std::process::Command::new(chromium)
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
    assert!(
        dom.contains(r#"<span id="verdict" class="verdict-fail">FAIL</span>"#),
        "{dom}"
    );
    assert!(dom.contains(r#"id="family-rpc.id""#));
    assert!(dom.contains(r#"id="family-raw.bytes""#));
    // The failed case is open and shows its trace, escaped.
    let failed = dom
        .split(r#"id="case-rpc.id.int-negative""#)
        .nth(1)
        .expect("the failed case");
    let failed = &failed[..failed.find("</details>").unwrap()];
    assert!(
        dom.contains(r#"id="case-rpc.id.int-negative" data-outcome="fail" open"#),
        "{dom}"
    );
    assert!(
        failed.contains("expected:</b> a reply with id 7 &lt;exactly&gt;"),
        "{failed}"
    );
    assert!(
        failed.contains(r#"<pre class="trace">A -&gt; "{\"id\":7"#),
        "{failed}"
    );
    // A passing case is closed.
    assert!(!dom.contains(r#"data-outcome="pass" open"#));
    // Failures come first, before any family; with the hint and the
    // server's output.
    let failures = dom.find(r#"id="failures""#).expect("a failures section");
    let first_family = dom.find(r#"id="family-"#).expect("families");
    assert!(failures < first_family, "failures first");
    assert!(
        failed.contains("hint:</b> the numeric id came back as a string"),
        "{failed}"
    );
    assert!(failed.contains("handled ping &lt;7&gt;"), "{failed}");
    assert!(
        dom.contains(r#"id="server-output">Traceback: boom"#),
        "{dom}"
    );
    assert!(dom.contains(r#"data-count="not run">1<"#), "{dom}");
}
