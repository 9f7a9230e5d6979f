//! A self-contained HTML page: the summary, the failures first (open
//! `<details>` with expected, actual, hint, requirements, the wire trace and
//! the server's output), then every other case grouped by family (closed),
//! then the server's last output. No scripts, no external files.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::junit::esc;
use super::{CaseResult, Outcome, Report};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.5em;border-bottom:1px solid #ccc}\
table.summary td{padding:.2em 1em .2em 0}\
details{margin:.2em 0;padding:.2em .5em;border-left:4px solid #ccc}\
summary{cursor:pointer}code,pre{font:12px/1.3 ui-monospace,monospace}\
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
.pass{border-color:#2a2}.fail{border-color:#d22;background:#fff4f4}.non-strict{border-color:#d90;background:#fffbf0}\
.unimplemented{border-color:#39c}.info{border-color:#36c}.not-run{border-color:#999;color:#666}\
.tag{font-weight:bold;display:inline-block;min-width:8em}.hint{background:#fff8d0;padding:.3em}\
.verdict-pass{color:#2a2}.verdict-fail{color:#d22}";

/// The report as one HTML page.
pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let mut h = String::new();
    let verdict = if report.ok { "PASS" } else { "FAIL" };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>plug-conformance: {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>plug-conformance {}: <span id=\"verdict\" class=\"verdict-{}\">{verdict}</span></h1>\n",
        report.version,
        verdict.to_ascii_lowercase()
    );
    h.push_str("<table class=\"summary\" id=\"summary\">\n");
    for e in &report.endpoints {
        row(&mut h, &format!("{} profile", e.profile), &e.endpoint);
    }
    if let Some(server) = &report.server {
        row(&mut h, "server", &server.command);
        if server.crashed {
            row(
                &mut h,
                "server crashed",
                &format!(
                    "during {} ({})",
                    server.during.as_deref().unwrap_or("?"),
                    server.exit_status.as_deref().unwrap_or("?")
                ),
            );
        }
    }
    row(
        &mut h,
        "protocol",
        &format!("PROTOCOL.md v{}", report.protocol_version),
    );
    row(&mut h, "strict", if report.strict { "yes" } else { "no" });
    for (k, v) in [
        ("passed", s.passed),
        ("failed", s.failed),
        ("non-strict", s.non_strict),
        ("unimplemented", s.unimplemented),
        ("info", s.info),
        ("not run", s.not_run),
        ("expected failures", s.expected_failures),
        ("unexpected passes", s.unexpected_passes),
        ("total", s.total),
    ] {
        let _ = writeln!(h, "<tr><td>{k}</td><td data-count=\"{k}\">{v}</td></tr>");
    }
    h.push_str("</table>\n");

    let failing: Vec<&CaseResult> = report
        .cases
        .iter()
        .filter(|c| c.outcome.is_failure())
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(
            h,
            "<section id=\"failures\">\n<h2>Failures <small>({})</small></h2>",
            failing.len()
        );
        for c in &failing {
            case(&mut h, c);
        }
        h.push_str("</section>\n");
    }
    let mut families: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for c in &report.cases {
        families.entry(&c.family).or_default().push(c);
    }
    for (family, cases) in families {
        let bad = cases.iter().filter(|c| c.outcome.is_failure()).count();
        let _ = writeln!(
            h,
            "<section class=\"family\" id=\"family-{0}\">\n<h2>{0} <small>({1} cases, {bad} failing)</small></h2>",
            esc(family),
            cases.len()
        );
        for c in cases {
            if c.outcome.is_failure() {
                let _ = writeln!(
                    h,
                    "<p class=\"case {0}\"><a href=\"#case-{1}\">{0}: <code>{1}</code></a> (above)</p>",
                    c.outcome.as_str(),
                    esc(&c.id)
                );
            } else {
                case(&mut h, c);
            }
        }
        h.push_str("</section>\n");
    }
    if let Some(server) = &report.server {
        if !server.output_tail.is_empty() {
            let _ = writeln!(
                h,
                "<section id=\"server\">\n<h2>Server output <small>(last lines)</small></h2>\n<pre id=\"server-output\">{}</pre>\n</section>",
                esc(&server.output_tail.join("\n"))
            );
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn row(h: &mut String, k: &str, v: &str) {
    let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
}

fn case(h: &mut String, c: &CaseResult) {
    let open = if c.outcome.is_failure() { " open" } else { "" };
    let tag = match (c.outcome, c.expected_failure) {
        (o, true) if o.is_failure() => format!("{} (expected)", o.as_str()),
        (Outcome::Pass, true) => "pass (unexpected)".to_owned(),
        (o, _) => o.as_str().to_owned(),
    };
    let _ = writeln!(
        h,
        "<details class=\"case {}\" id=\"case-{}\" data-outcome=\"{}\"{open}>\n\
         <summary><span class=\"tag\">{}</span> <code>{}</code> {} <small>({} ms)</small></summary>",
        c.outcome.as_str(),
        esc(&c.id),
        c.outcome.as_str(),
        esc(&tag),
        esc(&c.id),
        esc(&c.summary),
        c.duration_ms
    );
    let _ = writeln!(
        h,
        "<p>PROTOCOL.md {} ({})</p>",
        esc(&c.rules.join(", ")),
        c.requirement
    );
    if let Some(d) = &c.detail {
        let _ = writeln!(h, "<p class=\"detail\">{}</p>", esc(d));
    }
    if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
        let _ = writeln!(
            h,
            "<p class=\"expected\"><b>expected:</b> {}</p>\n<p class=\"actual\"><b>actual:</b> {}</p>",
            esc(e),
            esc(a)
        );
    }
    if let Some(hint) = &c.hint {
        let _ = writeln!(h, "<p class=\"hint\"><b>hint:</b> {}</p>", esc(hint));
    }
    if !c.trace.is_empty() {
        let _ = writeln!(h, "<pre class=\"trace\">{}</pre>", esc(&c.trace.join("\n")));
    }
    if !c.server_output.is_empty() {
        let _ = writeln!(
            h,
            "<p>server output during the case:</p>\n<pre class=\"server-output\">{}</pre>",
            esc(&c.server_output.join("\n"))
        );
    }
    h.push_str("</details>\n");
}
