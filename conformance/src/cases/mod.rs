//! Every case, by family. Each file holds one family (or a few small ones)
//! and its `cases()`.

use std::sync::OnceLock;
use std::time::Duration;

use crate::case::{Budget, Case, Ctx, Path, Profile, Requirement, Step, Verdict};

mod curve;
mod perf;
mod raw;
mod raw_load;
mod rpc_concurrency;
mod rpc_echo;
mod rpc_envelope;
mod rpc_error;
mod rpc_id;
mod rpc_limits;
mod rpc_method;
mod rpc_notification;
mod rpc_reply;
mod rpc_robust;
mod socket;

/// All cases in run order; each profile starts with its `*.socket.*` cases.
pub fn all() -> &'static [Case] {
    static ALL: OnceLock<Vec<Case>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            socket::rpc(),
            rpc_id::cases(),
            rpc_reply::cases(),
            rpc_error::cases(),
            rpc_notification::cases(),
            rpc_envelope::cases(),
            rpc_robust::cases(),
            rpc_limits::cases(),
            rpc_method::cases(),
            rpc_echo::cases(),
            rpc_concurrency::cases(),
            socket::raw(),
            raw::cases(),
            raw_load::cases(),
            perf::cases(),
            curve::cases(),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

/// The id of the case that must answer before any other of `profile` runs.
pub(crate) fn probe_id(profile: Profile) -> &'static str {
    match profile {
        Profile::Rpc => "rpc.socket.answers",
        Profile::Raw => "raw.socket.answers",
    }
}

/// A case checking `rules` (main one first), with four reply timeouts of
/// budget; the builders below add paths, peers and time.
pub(crate) const fn case(
    id: &'static str,
    profile: Profile,
    requirement: Requirement,
    rules: &'static [&'static str],
    summary: &'static str,
    run: fn(&Ctx) -> Step<Verdict>,
) -> Case {
    Case {
        id,
        profile,
        requirement,
        rules,
        paths: &[],
        summary,
        several_peers: false,
        req_client: false,
        budget: Budget {
            waits: 4,
            bulk: 0,
            fixed: Duration::ZERO,
        },
        run,
    }
}

impl Case {
    /// The paths the case's requests travel.
    pub(crate) const fn on(mut self, paths: &'static [Path]) -> Case {
        self.paths = paths;
        self
    }

    /// The case needs several peers at once.
    pub(crate) const fn several(mut self) -> Case {
        self.several_peers = true;
        self
    }

    /// The case uses a REQ socket.
    pub(crate) const fn req(mut self) -> Case {
        self.req_client = true;
        self
    }

    /// The case may wait for `n` replies one after another.
    pub(crate) const fn waits(mut self, n: u32) -> Case {
        self.budget.waits = n;
        self
    }

    /// The case sends up to `n` requests in bulk.
    pub(crate) const fn bulk(mut self, n: u64) -> Case {
        self.budget.bulk = n;
        self
    }

    /// The case may take `secs` more seconds (large messages, fixed waits).
    pub(crate) const fn slow(mut self, secs: u64) -> Case {
        self.budget.fixed = Duration::from_secs(secs);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_dotted_and_cite_existing_rules() {
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
            assert!(!c.rules.is_empty(), "{} cites no rule", c.id);
            for r in c.rules {
                assert!(
                    crate::spec::rule(r).is_some(),
                    "{} cites {r}, which PROTOCOL.md does not number",
                    c.id
                );
            }
        }
    }

    #[test]
    fn each_profile_starts_with_its_probe() {
        for p in [Profile::Rpc, Profile::Raw] {
            let first = all().iter().find(|c| c.profile == p).unwrap();
            assert_eq!(first.id, probe_id(p));
        }
    }
}
