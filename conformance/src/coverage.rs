//! The coverage table: every numbered requirement of PROTOCOL.md against
//! the cases that check it, on each path where it can break
//! (`plug-conformance list --coverage`).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::case::{Case, Path, Path::*, Requirement};
use crate::spec::{self, Rule};

/// Requirements that can break differently on each path a reply travels:
/// each of these paths needs a case of its own.
pub const PATHS: &[(&str, &[Path])] = &[
    (
        "5.2-a",
        &[
            Success,
            Error,
            Deferred,
            Bare,
            Delimited,
            Req,
            RoutingId,
            SeveralPeers,
        ],
    ),
    ("5.3-a", &[Success, Error, Deferred, Bare, Delimited, Req]),
    (
        "5.3-d",
        &[
            Success,
            Error,
            Deferred,
            Bare,
            Delimited,
            Req,
            RoutingId,
            SeveralPeers,
        ],
    ),
    (
        "3.3-a",
        &[Success, Error, Deferred, RoutingId, SeveralPeers],
    ),
    ("3.3-b", &[Success, Error, Deferred, Bare, Delimited, Req]),
    ("5.4-a", &[Bare, Delimited]),
    ("5.5-a", &[Bare, Delimited, Req]),
    ("4.3-a", &[Bare, Delimited, Req, RoutingId, SeveralPeers]),
];

/// Requirements no harness case checks: why, and the tests of the kit
/// that check them instead (`file::function`, from the repository root).
pub const ELSEWHERE: &[(&str, &str, &[&str])] = &[
    (
        "5.5-h",
        "no request makes every server's handler fail; the id and shape of error replies are \
         checked on every error path (5.2-a, 5.3-a)",
        &[],
    ),
    (
        "7.2-a",
        "a plug requirement",
        &[
            "client/tests/rpc.rs::pushes_unknown_ids_and_garbage_go_to_the_handler_and_the_plug_keeps_working",
            "client/tests/raw.rs::server_pushes_reach_the_handler_and_order_is_kept",
        ],
    ),
    (
        "7.3-a",
        "a plug requirement",
        &["client/tests/rpc.rs::error_replies_and_protocol_violations_are_told_apart"],
    ),
    (
        "8.3-a",
        "a plug requirement",
        &[
            "client/tests/rpc.rs::past_max_in_flight_a_fail_plug_refuses_and_a_wait_plug_waits",
            "client/tests/rpc.rs::a_request_with_no_reply_times_out_and_its_late_reply_goes_to_the_handler",
        ],
    ),
    (
        "8.4-a",
        "a plug requirement",
        &[
            "client/tests/rpc.rs::the_plug_reconnects_after_the_server_restarts",
            "echo-server/tests/faults.rs::sigkill_and_restart_under_load_times_out_the_pending_and_resumes",
        ],
    ),
];

/// The cases of `cases` that cite `rule`.
pub fn cases_for<'a>(cases: &'a [Case], rule: &str) -> Vec<&'a Case> {
    cases.iter().filter(|c| c.rules.contains(&rule)).collect()
}

/// The paths `rule` must be checked on (empty: any one case will do).
pub fn paths_for(rule: &str) -> &'static [Path] {
    PATHS
        .iter()
        .find(|(r, _)| *r == rule)
        .map_or(&[], |(_, p)| p)
}

/// What is missing: MUSTs without a case (and not checked elsewhere), and
/// paths of [`PATHS`] without a case. Empty when the table is complete.
pub fn gaps(cases: &[Case]) -> Vec<String> {
    let mut gaps = Vec::new();
    for rule in spec::rules() {
        let covering = cases_for(cases, &rule.id);
        let elsewhere = ELSEWHERE.iter().any(|(r, _, _)| *r == rule.id);
        if rule.level == Requirement::Must && covering.is_empty() && !elsewhere {
            gaps.push(format!("{} (MUST) has no case", rule.id));
        }
        for path in paths_for(&rule.id) {
            if !covering.iter().any(|c| c.paths.contains(path)) {
                gaps.push(format!(
                    "{} has no case on the {} path",
                    rule.id,
                    path.as_str()
                ));
            }
        }
    }
    let listed = PATHS
        .iter()
        .map(|(r, _)| *r)
        .chain(ELSEWHERE.iter().map(|(r, _, _)| *r));
    for r in listed {
        if spec::rule(r).is_none() {
            gaps.push(format!(
                "{r} is listed here but PROTOCOL.md has no such number"
            ));
        }
    }
    gaps
}

/// The table as `list --coverage` prints it.
pub fn render(cases: &[Case]) -> String {
    let rules = spec::rules();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in rules {
        *counts.entry(r.level.to_string()).or_default() += 1;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "PROTOCOL.md v{}: {} numbered requirements ({} MUST, {} SHOULD, {} MAY)",
        spec::version(),
        rules.len(),
        counts.get("MUST").copied().unwrap_or(0),
        counts.get("SHOULD").copied().unwrap_or(0),
        counts.get("MAY").copied().unwrap_or(0),
    );
    let gaps = gaps(cases);
    if gaps.is_empty() {
        out.push_str(
            "Every MUST is checked by a case (or, for the plug's own, by the plug's tests), on \
             every path listed.\n",
        );
    } else {
        for g in &gaps {
            let _ = writeln!(out, "MISSING: {g}");
        }
    }
    for rule in rules {
        out.push('\n');
        row(&mut out, rule, cases);
    }
    out
}

fn row(out: &mut String, rule: &Rule, cases: &[Case]) {
    let text = if rule.text.chars().count() > 96 {
        let cut: String = rule.text.chars().take(95).collect();
        format!("{cut}…")
    } else {
        rule.text.clone()
    };
    let _ = writeln!(out, "{:<6} {:<6} {text}", rule.id, rule.level.to_string());
    let pad = " ".repeat(14);
    if let Some((_, why, tests)) = ELSEWHERE.iter().find(|(r, _, _)| *r == rule.id) {
        let _ = writeln!(out, "{pad}not a harness case: {why}");
        for t in *tests {
            let _ = writeln!(out, "{pad}checked by {t}");
        }
        return;
    }
    let covering = cases_for(cases, &rule.id);
    let paths = paths_for(&rule.id);
    if covering.is_empty() {
        let _ = writeln!(out, "{pad}(no case)");
        return;
    }
    if paths.is_empty() {
        let ids: Vec<&str> = covering.iter().map(|c| c.id).collect();
        wrap(out, &pad, "", &ids);
        return;
    }
    for path in paths {
        let ids: Vec<&str> = covering
            .iter()
            .filter(|c| c.paths.contains(path))
            .map(|c| c.id)
            .collect();
        let label = format!("{:<14}", path.as_str());
        if ids.is_empty() {
            let _ = writeln!(out, "{pad}{label}MISSING");
        } else {
            wrap(out, &pad, &label, &ids);
        }
    }
}

fn wrap(out: &mut String, pad: &str, label: &str, ids: &[&str]) {
    let indent = " ".repeat(pad.len() + label.len());
    let mut line = format!("{pad}{label}");
    let mut first = true;
    for id in ids {
        if !first && line.len() + id.len() + 1 > 110 {
            let _ = writeln!(out, "{line}");
            line = indent.clone();
            first = true;
        }
        if !first {
            line.push(' ');
        }
        line.push_str(id);
        first = false;
    }
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_must_has_a_case_on_every_path() {
        let gaps = gaps(crate::cases::all());
        assert!(gaps.is_empty(), "coverage gaps:\n{}", gaps.join("\n"));
    }

    #[test]
    fn the_tests_named_for_the_plugs_requirements_exist() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (rule, _, tests) in ELSEWHERE {
            let level = crate::spec::rule(rule).expect("a numbered rule").level;
            assert!(
                !tests.is_empty() || level != Requirement::Must || *rule == "5.5-h",
                "{rule}: a MUST checked elsewhere names its tests"
            );
            for t in *tests {
                let (file, func) = t.split_once("::").expect("file::function");
                let text = std::fs::read_to_string(root.join(file))
                    .unwrap_or_else(|e| panic!("{rule}: {file}: {e}"));
                assert!(
                    text.contains(&format!("fn {func}(")),
                    "{rule}: {file} has no fn {func}"
                );
            }
        }
    }

    #[test]
    fn a_missing_case_shows_as_a_gap() {
        let without: Vec<Case> = crate::cases::all()
            .iter()
            .filter(|c| !c.paths.contains(&Path::Req))
            .copied()
            .collect();
        let gaps = gaps(&without);
        for want in [
            "5.2-a has no case on the req path",
            "3.3-b has no case on the req path",
            "4.3-a has no case on the req path",
            "7.1-c (MUST) has no case",
        ] {
            assert!(gaps.iter().any(|g| g == want), "{want} not in {gaps:?}");
        }
    }
}
