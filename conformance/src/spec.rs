//! The numbered requirements of PROTOCOL.md, read from the document itself
//! (compiled in), so a case can only cite a requirement the spec has.
//!
//! A requirement is a bold number such as `**5.2-a**` followed by its text,
//! up to the next number, the end of the paragraph or of the table cell. Its
//! level is the first RFC 2119 word in that text; a row of the §5.5 table,
//! which has none, is a MUST ("A server MUST answer bad requests as
//! follows").

use std::sync::OnceLock;

use crate::case::Requirement;

/// PROTOCOL.md as this harness was built with it.
pub const TEXT: &str = include_str!("../../PROTOCOL.md");

/// One numbered requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `5.2-a`.
    pub id: String,
    /// MUST (MUST NOT too), SHOULD (SHOULD NOT too) or MAY.
    pub level: Requirement,
    /// The text after the number, on one line.
    pub text: String,
}

impl Rule {
    /// The section, `5.2` for `5.2-a`.
    pub fn section(&self) -> &str {
        section_of(&self.id)
    }
}

/// `5.2-a` -> `5.2`.
pub fn section_of(rule: &str) -> &str {
    rule.split_once('-').map_or(rule, |(s, _)| s)
}

/// Every numbered requirement, in document order.
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| parse(TEXT))
}

/// The requirement numbered `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id)
}

/// The version the document states in its first lines (`Version 1.`).
pub fn version() -> u32 {
    TEXT.lines()
        .find_map(|l| l.strip_prefix("Version "))
        .and_then(|l| l.trim_end_matches('.').split('.').next()?.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn parse(text: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for paragraph in paragraphs(text) {
        let table_row = paragraph.trim_start().starts_with('|');
        let mut rest = paragraph.as_str();
        while let Some(start) = rest.find("**") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("**") else { break };
            let id = &after[..end];
            rest = &after[end + 2..];
            if !is_rule_id(id) {
                continue;
            }
            let mut body = rest;
            if let Some(next) = next_rule(body) {
                body = &body[..next];
            }
            if table_row {
                body = body.trim_start().trim_start_matches('|');
                body = body.split('|').next().unwrap_or(body);
            }
            let text = body
                .trim_start_matches([':', ' '])
                .replace("**", "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .trim_end_matches(['(', ' '])
                .to_owned();
            let level = level_of(&text).unwrap_or(if table_row {
                Requirement::Must
            } else {
                Requirement::Info
            });
            rules.push(Rule {
                id: id.to_owned(),
                level,
                text,
            });
        }
    }
    rules
}

/// Paragraphs (blank-line separated); each table row is its own paragraph.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('|') {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(line.to_owned());
        } else if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `5.2-a`, `2.1-c`: digits, a dot, digits, a dash, one lowercase letter.
fn is_rule_id(s: &str) -> bool {
    let Some((sec, letter)) = s.split_once('-') else {
        return false;
    };
    let Some((major, minor)) = sec.split_once('.') else {
        return false;
    };
    !major.is_empty()
        && !minor.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && minor.bytes().all(|b| b.is_ascii_digit())
        && letter.len() == 1
        && letter.bytes().all(|b| b.is_ascii_lowercase())
}

/// Where the next `**N.N-x**` starts in `s`.
fn next_rule(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("**") {
        let at = from + i;
        let after = &s[at + 2..];
        if let Some(end) = after.find("**") {
            if is_rule_id(&after[..end]) {
                return Some(at);
            }
        }
        from = at + 2;
    }
    None
}

fn level_of(text: &str) -> Option<Requirement> {
    let words = [
        ("MUST", Requirement::Must),
        ("SHOULD", Requirement::Should),
        ("MAY", Requirement::May),
    ];
    words
        .iter()
        .filter_map(|(w, l)| find_word(text, w).map(|i| (i, *l)))
        .min_by_key(|(i, _)| *i)
        .map(|(_, l)| l)
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_with_their_level() {
        let text =
            "2.1. **2.1-a** A server MUST bind. **2.1-b** It SHOULD x (**2.1-c**: it MAY y).\n\n\
                    | rule | c |\n| --- | --- |\n| **5.5-a** | not JSON | `null` |\n";
        let rules = parse(text);
        let got: Vec<(&str, Requirement)> =
            rules.iter().map(|r| (r.id.as_str(), r.level)).collect();
        assert_eq!(
            got,
            [
                ("2.1-a", Requirement::Must),
                ("2.1-b", Requirement::Should),
                ("2.1-c", Requirement::May),
                ("5.5-a", Requirement::Must),
            ]
        );
        assert_eq!(rules[0].text, "A server MUST bind.");
        assert_eq!(rules[3].text, "not JSON");
    }

    #[test]
    fn the_spec_numbers_are_unique_and_leveled() {
        let mut seen = std::collections::HashSet::new();
        for r in rules() {
            assert!(seen.insert(r.id.clone()), "{} twice", r.id);
            assert_ne!(r.level, Requirement::Info, "{} has no RFC 2119 word", r.id);
        }
        assert!(rules().len() > 30, "{}", rules().len());
        assert_eq!(version(), 1);
    }
}
