//! The terminal output: a header, one progress line per case as it
//! finishes (failures with expected, actual and section), and a summary.
//! Colors only when asked (the binary asks when stdout is a tty).

use std::io::Write;

use super::{CaseResult, Outcome, ProfileEndpoint, Report};

/// Writes progress as cases finish.
pub struct Terminal<'a> {
    out: &'a mut dyn Write,
    color: bool,
    verbose: bool,
    total: usize,
    done: usize,
}

impl<'a> Terminal<'a> {
    /// A writer for a run of `total` cases.
    pub fn new(out: &'a mut dyn Write, color: bool, verbose: bool, total: usize) -> Terminal<'a> {
        Terminal {
            out,
            color,
            verbose,
            total,
            done: 0,
        }
    }

    /// Tool, protocol and where each profile runs.
    pub fn header(
        &mut self,
        endpoints: &[ProfileEndpoint],
        transport: plug::transport::Transport,
        command: Option<&str>,
    ) {
        let _ = writeln!(
            self.out,
            "plug-conformance {}, PROTOCOL.md v{}",
            env!("CARGO_PKG_VERSION"),
            crate::spec::version()
        );
        if let Some(cmd) = command {
            let _ = writeln!(self.out, "server: {cmd}");
        }
        for e in endpoints {
            let _ = writeln!(self.out, "{} profile: {}", e.profile, e.endpoint);
        }
        let _ = writeln!(self.out, "transport: {transport}");
        let _ = writeln!(self.out);
    }

    /// A line of its own (a warning).
    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// One finished case.
    pub fn case(&mut self, r: &CaseResult) {
        self.done += 1;
        let (label, code) = match (r.outcome, r.expected_failure) {
            (o, true) if o.is_failure() => ("expected-fail", "33"),
            (Outcome::Pass, true) => ("UNEXPECTED-PASS", "1;31"),
            (Outcome::Pass, false) => ("pass", "32"),
            (Outcome::Fail, _) => ("FAIL", "1;31"),
            (Outcome::NonStrict, _) => ("non-strict", "33"),
            (Outcome::Unimplemented, _) => ("unimplemented", "36"),
            (Outcome::Info, _) => ("info", "34"),
            (Outcome::NotRun, _) => ("not-run", "90"),
        };
        let width = self.total.to_string().len();
        let label = self.paint(code, &format!("{label:<15}"));
        let mut line = format!(
            "[{:>width$}/{}] {label} {} ({} ms)",
            self.done, self.total, r.id, r.duration_ms
        );
        if let Some(d) = &r.detail {
            line.push_str(&format!(": {d}"));
        }
        let _ = writeln!(self.out, "{line}");
        let pad = " ".repeat(2 * width + 4);
        if r.outcome.is_failure() || (r.outcome == Outcome::Pass && r.expected_failure) {
            let _ = writeln!(
                self.out,
                "{pad}{} {}: {}",
                r.rules.join(" "),
                r.requirement,
                r.summary
            );
            if let Some(e) = &r.expected {
                let _ = writeln!(self.out, "{pad}expected: {e}");
            }
            if let Some(a) = &r.actual {
                let _ = writeln!(self.out, "{pad}actual:   {a}");
            }
            if let Some(h) = &r.hint {
                let _ = writeln!(self.out, "{pad}hint:     {h}");
            }
            let skip = r.server_output.len().saturating_sub(10);
            for l in r.server_output.iter().skip(skip) {
                let _ = writeln!(self.out, "{pad}server| {l}");
            }
        }
        if self.verbose && !r.trace.is_empty() {
            for t in &r.trace {
                let _ = writeln!(self.out, "{pad}| {t}");
            }
        }
        let _ = self.out.flush();
    }

    /// Counts and the verdict.
    pub fn summary(&mut self, report: &Report) {
        let s = &report.summary;
        let _ = writeln!(self.out);
        let mut line = format!(
            "{} cases: {} passed, {} failed, {} non-strict, {} unimplemented, {} info",
            s.total, s.passed, s.failed, s.non_strict, s.unimplemented, s.info
        );
        if s.not_run > 0 {
            line.push_str(&format!(", {} not run", s.not_run));
        }
        if s.expected_failures > 0 || s.unexpected_passes > 0 {
            line.push_str(&format!(
                ", {} expected failures, {} unexpected passes",
                s.expected_failures, s.unexpected_passes
            ));
        }
        let _ = writeln!(
            self.out,
            "{line} ({:.1} s)",
            report.duration_ms as f64 / 1000.0
        );
        if let Some(server) = &report.server {
            if server.crashed {
                let _ = writeln!(
                    self.out,
                    "server crashed during {} ({})",
                    server.during.as_deref().unwrap_or("?"),
                    server.exit_status.as_deref().unwrap_or("?")
                );
                for l in &server.output_tail {
                    let _ = writeln!(self.out, "  server| {l}");
                }
            }
        }
        if let Some(server) = &report.server {
            for r in &server.restarts {
                let _ = writeln!(self.out, "server restarted {r} (--restart)");
            }
        }
        let failed = report.failed_ids();
        if !failed.is_empty() {
            let _ = writeln!(self.out, "failed: {}", failed.join(" "));
        }
        let verdict = if report.ok {
            self.paint("1;32", "PASS")
        } else {
            self.paint("1;31", "FAIL")
        };
        let strict = if report.strict { " (strict)" } else { "" };
        let _ = writeln!(self.out, "verdict: {verdict}{strict}");
        let _ = self.out.flush();
    }
}

/// A whole report as the terminal shows it (for `--verbose` reprints and
/// snapshots).
pub fn render(report: &Report, color: bool, verbose: bool) -> String {
    let mut buf = Vec::new();
    {
        let mut t = Terminal::new(&mut buf, color, verbose, report.cases.len());
        t.header(
            &report.endpoints,
            report.transport,
            report.server.as_ref().map(|s| s.command.as_str()),
        );
        for c in &report.cases {
            t.case(c);
        }
        t.summary(report);
    }
    String::from_utf8(buf).expect("the terminal output is UTF-8")
}
