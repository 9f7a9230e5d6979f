//! Choosing cases with `--only` and `--skip` patterns.
//!
//! A pattern is glob-ish: `*` matches any run of characters (dots
//! included), `?` one character. A pattern without wildcards matches the id
//! itself or any id below it: `rpc.id` selects `rpc.id.*`.

use crate::case::{Case, Profile};

/// Whether `pattern` selects the case `id`.
pub fn matches(pattern: &str, id: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return id == pattern || id.strip_prefix(pattern).is_some_and(|r| r.starts_with('.'));
    }
    glob(pattern.as_bytes(), id.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// The cases of `profiles` selected by `only` (all when empty) minus `skip`.
/// `Err(pattern)` names a pattern that matches no case of these profiles.
pub fn select<'a>(
    cases: &'a [Case],
    profiles: &[Profile],
    only: &[String],
    skip: &[String],
) -> Result<Vec<&'a Case>, String> {
    let pool: Vec<&Case> = cases
        .iter()
        .filter(|c| profiles.contains(&c.profile))
        .collect();
    for p in only.iter().chain(skip) {
        if !pool.iter().any(|c| matches(p, c.id)) {
            return Err(p.clone());
        }
    }
    Ok(pool
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|p| matches(p, c.id)))
        .filter(|c| !skip.iter().any(|p| matches(p, c.id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("rpc.id.*", "rpc.id.int-zero"));
        assert!(matches("rpc.id", "rpc.id.int-zero"));
        assert!(!matches("rpc.i", "rpc.id.int-zero"));
        assert!(matches("rpc.*.int-*", "rpc.id.int-zero"));
        assert!(matches("*", "raw.size.1mib"));
        assert!(matches("raw.size.?mib", "raw.size.1mib"));
        assert!(!matches("raw.size.?mib", "raw.size.64mib"));
        assert!(!matches("rpc.id.*", "rpc.echo.large"));
    }

    #[test]
    fn selection_and_unknown_patterns() {
        let all = crate::cases::all();
        let ids = select(
            all,
            &[Profile::Rpc],
            &["rpc.id".into()],
            &["rpc.id.str-*".into()],
        )
        .unwrap();
        assert!(ids
            .iter()
            .all(|c| c.id.starts_with("rpc.id.") && !c.id.starts_with("rpc.id.str-")));
        assert!(!ids.is_empty());
        assert_eq!(
            select(all, &[Profile::Rpc], &["raw.*".into()], &[]).unwrap_err(),
            "raw.*"
        );
        assert_eq!(
            select(all, &[Profile::Raw], &[], &["nope".into()]).unwrap_err(),
            "nope"
        );
    }
}
