//! Every case, by family. Each file holds one family and its `CASES`.

use std::sync::OnceLock;
use std::time::Duration;

use crate::case::{Case, Ctx, Profile, Requirement, Step, Verdict};

mod curve;
mod perf;
mod raw;
mod rpc_concurrency;
mod rpc_echo;
mod rpc_envelope;
mod rpc_error;
mod rpc_id;
mod rpc_method;
mod rpc_reply;
mod rpc_robust;

/// All cases in run order.
pub fn all() -> &'static [Case] {
    static ALL: OnceLock<Vec<Case>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            rpc_id::cases(),
            rpc_reply::cases(),
            rpc_error::cases(),
            rpc_envelope::cases(),
            rpc_robust::cases(),
            rpc_method::cases(),
            rpc_echo::cases(),
            rpc_concurrency::cases(),
            raw::cases(),
            perf::cases(),
            curve::cases(),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

/// A case; `extra` time is added with [`Case::slow`].
pub(crate) const fn case(
    id: &'static str,
    profile: Profile,
    requirement: Requirement,
    section: &'static str,
    summary: &'static str,
    run: fn(&Ctx) -> Step<Verdict>,
) -> Case {
    Case {
        id,
        profile,
        requirement,
        section,
        summary,
        extra: Duration::ZERO,
        run,
    }
}

impl Case {
    /// The same case allowed `secs` more seconds of wall-clock time.
    pub(crate) const fn slow(mut self, secs: u64) -> Case {
        self.extra = Duration::from_secs(secs);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_dotted_and_cite_a_section() {
        let mut seen = HashSet::new();
        for c in all() {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(c.id.split('.').count() >= 3, "{}", c.id);
            assert!(
                c.id.starts_with(&format!("{}.", c.profile))
                    || c.id.starts_with(&format!("perf.{}.", c.profile))
                    || c.id.starts_with(&format!("curve.{}.", c.profile)),
                "{}",
                c.id
            );
            assert!(
                c.section.chars().next().unwrap().is_ascii_digit(),
                "{}",
                c.id
            );
        }
    }
}
