//! JUnit XML: one `<testsuite>` per family, one `<testcase>` per case.
//! `fail` (and `non-strict` under `--strict`) is a `<failure>`;
//! `unimplemented` is `<skipped>`; notes and traces go to `<system-out>`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{CaseResult, Outcome, Report};

/// The report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut families: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for c in &report.cases {
        families.entry(&c.family).or_default().push(c);
    }
    let failures_of =
        |cases: &[&CaseResult]| cases.iter().filter(|c| report.counts_as_failure(c)).count();
    let all: Vec<&CaseResult> = report.cases.iter().collect();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"plug-conformance\" tests=\"{}\" failures=\"{}\" time=\"{}\">",
        all.len(),
        failures_of(&all),
        secs(report.duration_ms)
    );
    for (family, cases) in &families {
        let skipped = cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Unimplemented | Outcome::NotRun))
            .count();
        let time: u64 = cases.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{skipped}\" time=\"{}\">",
            esc(family),
            cases.len(),
            failures_of(cases),
            secs(time)
        );
        for c in cases {
            case(&mut x, report, c);
        }
        x.push_str("  </testsuite>\n");
    }
    if let Some(server) = &report.server {
        let _ = writeln!(
            x,
            "  <testsuite name=\"server\" tests=\"0\" failures=\"0\" skipped=\"0\" time=\"0.000\">\n    <system-out>{}</system-out>\n    <system-err>{}</system-err>\n  </testsuite>",
            esc(&server.command),
            esc(&server.output_tail.join("\n"))
        );
    }
    x.push_str("</testsuites>\n");
    x
}

fn case(x: &mut String, report: &Report, c: &CaseResult) {
    let _ = writeln!(
        x,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">",
        esc(&c.family),
        esc(&c.id),
        secs(c.duration_ms)
    );
    let head = format!("§{} {}: {}", c.section, c.requirement, c.summary);
    if report.counts_as_failure(c) {
        let (kind, message) = if c.outcome == Outcome::Pass {
            (
                "unexpected-pass",
                "listed as an expected failure but passed".to_owned(),
            )
        } else {
            (
                c.outcome.as_str(),
                format!("expected {}", c.expected.as_deref().unwrap_or("")),
            )
        };
        let hint = c
            .hint
            .as_deref()
            .map(|h| format!("\nhint: {h}"))
            .unwrap_or_default();
        let _ = writeln!(
            x,
            "      <failure type=\"{kind}\" message=\"{}\">{}\nexpected: {}\nactual: {}{}\n\n{}</failure>",
            esc(&message),
            esc(&head),
            esc(c.expected.as_deref().unwrap_or("")),
            esc(c.actual.as_deref().unwrap_or("")),
            esc(&hint),
            esc(&c.trace.join("\n"))
        );
    } else if matches!(c.outcome, Outcome::Unimplemented | Outcome::NotRun) {
        let _ = writeln!(
            x,
            "      <skipped message=\"{}\"/>",
            esc(c.detail.as_deref().unwrap_or(""))
        );
    }
    let mut out = vec![format!("{} ({head})", c.outcome.as_str())];
    out.extend(c.detail.clone());
    if c.outcome.is_failure() && !report.counts_as_failure(c) {
        out.push(format!("expected: {}", c.expected.as_deref().unwrap_or("")));
        out.push(format!("actual: {}", c.actual.as_deref().unwrap_or("")));
    }
    let _ = writeln!(x, "      <system-out>{}</system-out>", esc(&out.join("\n")));
    if !c.server_output.is_empty() {
        let _ = writeln!(
            x,
            "      <system-err>{}</system-err>",
            esc(&c.server_output.join("\n"))
        );
    }
    x.push_str("    </testcase>\n");
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Escapes text for XML, dropping characters XML 1.0 cannot carry.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}
