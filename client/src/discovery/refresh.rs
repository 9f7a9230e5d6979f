//! The refresh loop: look the name up now, then every refresh period and on
//! demand; publish the set when it changes; keep the last good set when a
//! lookup fails.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{watch, Notify};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::resolver::Lookup;
use super::{DiscoveryStats, DnsTarget};

/// Demanded lookups start no sooner than this after the previous one (or
/// the refresh period, if shorter): a plug that keeps losing an endpoint
/// must not turn into a flood of queries.
pub(crate) const DEMAND_SPACING: Duration = Duration::from_secs(1);

/// What the loop and the [`super::Discovery`] handle share.
pub(crate) struct Shared {
    pub(crate) target: DnsTarget,
    pub(crate) endpoints: watch::Sender<Vec<String>>,
    pub(crate) demand: Notify,
    pub(crate) closed: CancellationToken,
    tally: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    lookups: u64,
    failures: u64,
    changes: u64,
    changed_by_lookup: u64,
    last_error: Option<String>,
}

impl Shared {
    pub(crate) fn new(target: DnsTarget) -> Shared {
        Shared {
            target,
            endpoints: watch::Sender::new(Vec::new()),
            demand: Notify::new(),
            closed: CancellationToken::new(),
            tally: Mutex::default(),
        }
    }

    pub(crate) fn stats(&self) -> DiscoveryStats {
        let t = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        DiscoveryStats {
            target: self.target.to_string(),
            endpoints: self.endpoints.borrow().clone(),
            lookups: t.lookups,
            failures: t.failures,
            changes: t.changes,
            changed_by_lookup: t.changed_by_lookup,
            last_error: t.last_error.clone(),
        }
    }

    /// Records one lookup's outcome and publishes a changed set.
    fn apply(&self, outcome: Result<Vec<IpAddr>, String>) {
        let target = &self.target;
        let mut t = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        t.lookups += 1;
        let ips = match outcome {
            Ok(ips) if !ips.is_empty() => ips,
            // Nothing to connect to is never published: a fleet scaled to
            // zero and a broken zone look alike from here, and the old
            // addresses cost only reconnection attempts.
            Ok(_) => return self.failed(&mut t, "no A or AAAA record".to_owned()),
            Err(e) => return self.failed(&mut t, e),
        };
        if let Some(e) = t.last_error.take() {
            tracing::info!(%target, previous_error = %e, "DNS lookup succeeds again");
        }
        let fresh: Vec<String> = ips
            .into_iter()
            .collect::<BTreeSet<IpAddr>>()
            .into_iter()
            .map(|ip| target.endpoint(ip))
            .collect();
        let lookup = t.lookups;
        let changed = self.endpoints.send_if_modified(|current| {
            if *current == fresh {
                return false;
            }
            let added: Vec<&String> = fresh.iter().filter(|e| !current.contains(e)).collect();
            let removed: Vec<&String> = current.iter().filter(|e| !fresh.contains(e)).collect();
            tracing::info!(%target, lookup, ?added, ?removed, endpoints = fresh.len(), "discovered endpoints changed");
            current.clone_from(&fresh);
            true
        });
        if changed {
            t.changes += 1;
            t.changed_by_lookup = lookup;
        }
    }

    fn failed(&self, t: &mut Tally, error: String) {
        t.failures += 1;
        let kept = self.endpoints.borrow().len();
        // Loud once per kind of failure, quiet while it repeats.
        if t.last_error.as_ref() != Some(&error) {
            tracing::warn!(target = %self.target, %error, kept, "DNS lookup failed; keeping the last good endpoints");
        } else {
            tracing::debug!(target = %self.target, %error, kept, "DNS lookup failed again");
        }
        t.last_error = Some(error);
    }
}

/// Runs until `shared.closed` is cancelled.
pub(crate) async fn run(shared: Arc<Shared>, lookup: impl Lookup, refresh: Duration) {
    let spacing = refresh.min(DEMAND_SPACING);
    let closed = shared.closed.clone();
    loop {
        // Demands made up to now are served by this lookup (a woken waiter
        // and a stored permit can both be pending).
        let _ = shared.demand.notified().now_or_never();
        let started = Instant::now();
        let outcome = tokio::select! {
            biased;
            _ = closed.cancelled() => return,
            outcome = lookup.lookup() => outcome,
        };
        shared.apply(outcome);
        tokio::select! {
            biased;
            _ = closed.cancelled() => return,
            _ = sleep_until(started + refresh) => {}
            // A demand made during the lookup counts too (Notify keeps a
            // permit).
            _ = shared.demand.notified() => tokio::select! {
                biased;
                _ = closed.cancelled() => return,
                _ = sleep_until(started + spacing) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Answers from a script, one per lookup; the last answer repeats.
    struct Script {
        answers: Mutex<VecDeque<Result<Vec<IpAddr>, String>>>,
        calls: Arc<AtomicU64>,
        takes: Duration,
    }

    fn ips(list: &[&str]) -> Result<Vec<IpAddr>, String> {
        Ok(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    impl Lookup for Script {
        async fn lookup(&self) -> Result<Vec<IpAddr>, String> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.takes).await;
            let mut answers = self.answers.lock().unwrap();
            if answers.len() > 1 {
                answers.pop_front().unwrap()
            } else {
                answers.front().cloned().unwrap()
            }
        }
    }

    fn start(
        answers: Vec<Result<Vec<IpAddr>, String>>,
        refresh: Duration,
    ) -> (Arc<Shared>, Arc<AtomicU64>) {
        start_slow(answers, refresh, Duration::ZERO)
    }

    fn start_slow(
        answers: Vec<Result<Vec<IpAddr>, String>>,
        refresh: Duration,
        takes: Duration,
    ) -> (Arc<Shared>, Arc<AtomicU64>) {
        let shared = Arc::new(Shared::new("dns+tcp://fleet.test:9000".parse().unwrap()));
        let calls = Arc::new(AtomicU64::new(0));
        let script = Script {
            answers: Mutex::new(answers.into()),
            calls: calls.clone(),
            takes,
        };
        tokio::spawn(run(shared.clone(), script, refresh));
        (shared, calls)
    }

    /// Lets the loop run until it waits for the clock.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn publishes_every_address_sorted_with_the_port() {
        let (shared, _) = start(
            vec![ips(&["192.0.2.3", "192.0.2.1", "2001:db8::1", "192.0.2.1"])],
            Duration::from_secs(5),
        );
        let mut rx = shared.endpoints.subscribe();
        rx.wait_for(|e| !e.is_empty()).await.unwrap();
        assert_eq!(
            *rx.borrow(),
            [
                "tcp://192.0.2.1:9000",
                "tcp://192.0.2.3:9000",
                "tcp://[2001:db8::1]:9000"
            ]
        );
        let s = shared.stats();
        assert_eq!(
            (s.lookups, s.failures, s.changes, s.changed_by_lookup),
            (1, 0, 1, 1)
        );
        assert_eq!(s.target, "dns+tcp://fleet.test:9000");
    }

    #[tokio::test(start_paused = true)]
    async fn looks_up_again_every_refresh_period() {
        let refresh = Duration::from_secs(5);
        let (shared, calls) = start(
            vec![ips(&["192.0.2.1"]), ips(&["192.0.2.1", "192.0.2.2"])],
            refresh,
        );
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(refresh - Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "looked up before the period ended"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(shared.endpoints.borrow().len(), 2);
        let s = shared.stats();
        assert_eq!((s.changes, s.changed_by_lookup), (2, 2));
        // The same answer again is no change.
        tokio::time::sleep(refresh).await;
        settle().await;
        let s = shared.stats();
        assert_eq!((s.lookups, s.changes, s.changed_by_lookup), (3, 2, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_or_empty_lookup_keeps_the_last_good_set() {
        let refresh = Duration::from_secs(1);
        let (shared, _) = start(
            vec![
                ips(&["192.0.2.1", "192.0.2.2"]),
                Err("request timed out".to_owned()),
                ips(&[]),
                ips(&["192.0.2.2"]),
            ],
            refresh,
        );
        let mut rx = shared.endpoints.subscribe();
        settle().await;
        let good = rx.borrow_and_update().clone();
        assert_eq!(good.len(), 2);
        tokio::time::sleep(refresh).await;
        settle().await;
        let s = shared.stats();
        assert_eq!((s.lookups, s.failures), (2, 1));
        assert_eq!(s.last_error.as_deref(), Some("request timed out"));
        assert_eq!(s.endpoints, good);
        assert!(!rx.has_changed().unwrap(), "a failure published something");
        tokio::time::sleep(refresh).await;
        settle().await;
        let s = shared.stats();
        assert_eq!((s.lookups, s.failures), (3, 2));
        assert_eq!(s.last_error.as_deref(), Some("no A or AAAA record"));
        assert_eq!(s.endpoints, good);
        tokio::time::sleep(refresh).await;
        settle().await;
        let s = shared.stats();
        assert_eq!(s.endpoints, ["tcp://192.0.2.2:9000"]);
        assert_eq!((s.lookups, s.failures, s.changed_by_lookup), (4, 2, 4));
        assert_eq!(s.last_error, None);
        assert!(rx.has_changed().unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn demands_coalesce_into_one_spaced_lookup() {
        let refresh = Duration::from_secs(30);
        let (shared, calls) = start(vec![ips(&["192.0.2.1"])], refresh);
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Right after a lookup: wait out the spacing, then one lookup for
        // all three demands.
        for _ in 0..3 {
            shared.demand.notify_one();
        }
        tokio::time::sleep(DEMAND_SPACING - Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "demand ignored the spacing"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_secs(5)).await;
        settle().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the demands made more than one lookup"
        );
        // Long after the last lookup, a demand is served at once.
        shared.demand.notify_one();
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_demand_during_a_lookup_makes_one_more() {
        // The lookup in flight may have been answered before the endpoint
        // was lost, so the demand must not be folded into it.
        let refresh = Duration::from_secs(30);
        let takes = Duration::from_millis(300);
        let (shared, calls) = start_slow(vec![ips(&["192.0.2.1"])], refresh, takes);
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            shared.stats().lookups,
            0,
            "the first lookup ended before the demand"
        );
        shared.demand.notify_one();
        tokio::time::sleep(DEMAND_SPACING).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_secs(10)).await;
        settle().await;
        assert_eq!(shared.stats().lookups, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_when_closed() {
        let refresh = Duration::from_secs(1);
        let (shared, calls) = start(vec![ips(&["192.0.2.1"])], refresh);
        settle().await;
        shared.closed.cancel();
        tokio::time::sleep(refresh * 3).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
