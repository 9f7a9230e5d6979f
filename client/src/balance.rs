//! [`Links`]: a plug's links, one per endpoint, and which one a request
//! goes to.
//!
//! A request goes to the connected link with the fewest requests in flight
//! (ties broken in turn), skipping links that are draining and, while
//! another can take it, links that stopped answering. A server that
//! answers slowly or not at all accumulates requests in flight and so gets
//! fewer new ones, a frozen one gets none once a request times out on it,
//! and a fast one gets more (PROTOCOL.md §2.2).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::link::Link;

/// How a link compares for the next request; lower is better: not
/// avoided, answering, fewest in flight.
type Rank = (bool, bool, u64);

/// The links of one plug.
pub(crate) struct Links {
    list: RwLock<Arc<[Arc<Link>]>>,
    /// Links removed from `list` (their endpoint was no longer discovered)
    /// and not closed yet: they take no request but still report.
    leaving: RwLock<Vec<Arc<Link>>>,
    /// The disconnects of links closed and forgotten.
    departed_disconnects: AtomicU64,
    turn: AtomicUsize,
    /// Notified when a link comes up, goes down, drains, or joins.
    changed: Arc<Notify>,
}

impl Default for Links {
    fn default() -> Links {
        Links {
            list: RwLock::new(Arc::from(Vec::new())),
            leaving: RwLock::default(),
            departed_disconnects: AtomicU64::new(0),
            turn: AtomicUsize::new(0),
            changed: Arc::new(Notify::new()),
        }
    }
}

impl Links {
    /// The notification every link of this plug reports to.
    pub(crate) fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Every link, now.
    pub(crate) fn all(&self) -> Arc<[Arc<Link>]> {
        self.list.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds a link.
    pub(crate) fn add(&self, link: Arc<Link>) {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let mut next: Vec<Arc<Link>> = list.iter().cloned().collect();
        next.push(link);
        *list = Arc::from(next);
        drop(list);
        self.changed.notify_waiters();
    }

    /// Every link that reports in `stats()`: those that take requests, then
    /// those leaving.
    pub(crate) fn reporting(&self) -> Vec<Arc<Link>> {
        let mut all = self.all().to_vec();
        all.extend(
            self.leaving
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        all
    }

    /// Disconnects of links that no longer report.
    pub(crate) fn departed_disconnects(&self) -> u64 {
        self.departed_disconnects.load(Ordering::Relaxed)
    }

    /// Forgets a link that [`Links::remove`] returned, once it is closed;
    /// its disconnects stay counted.
    pub(crate) fn forget(&self, link: &Arc<Link>) {
        let mut leaving = self.leaving.write().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = leaving.iter().position(|l| Arc::ptr_eq(l, link)) {
            leaving.remove(i);
            self.departed_disconnects
                .fetch_add(link.stats().disconnects, Ordering::Relaxed);
        }
    }

    /// Removes and returns the link to `endpoint`, if there is one: it takes
    /// no more requests, and reports until [`Links::forget`].
    pub(crate) fn remove(&self, endpoint: &str) -> Option<Arc<Link>> {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let gone = list.iter().find(|l| l.endpoint() == endpoint).cloned()?;
        let next: Vec<Arc<Link>> = list
            .iter()
            .filter(|l| l.endpoint() != endpoint)
            .cloned()
            .collect();
        *list = Arc::from(next);
        self.leaving
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(gone.clone());
        drop(list);
        self.changed.notify_waiters();
        Some(gone)
    }

    /// The link for the next request, now: see the module's rules. `avoid`
    /// is skipped while another link can take the request (a retry goes
    /// elsewhere).
    pub(crate) fn pick(&self, avoid: Option<&Link>) -> Option<Arc<Link>> {
        let list = self.all();
        if let [only] = &list[..] {
            let h = &only.health;
            return (h.is_connected() && !h.is_draining()).then(|| only.clone());
        }
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<(&Arc<Link>, Rank)> = None;
        for i in 0..list.len() {
            let link = &list[(start + i) % list.len()];
            let h = &link.health;
            if !h.is_connected() || h.is_draining() {
                continue;
            }
            let avoided = avoid.is_some_and(|a| std::ptr::eq(a, &**link));
            let rank: Rank = (
                avoided,
                h.is_unresponsive(),
                h.in_flight.load(Ordering::Relaxed),
            );
            if best.as_ref().map_or(true, |(_, r)| rank < *r) {
                best = Some((link, rank));
            }
        }
        best.map(|(link, _)| link.clone())
    }

    /// Like [`Links::pick`], waiting until `deadline` for a link to come up
    /// when none can take the request now.
    pub(crate) async fn pick_until(
        &self,
        deadline: Instant,
        avoid: Option<&Link>,
    ) -> Option<Arc<Link>> {
        // Most requests find a link at once: no waiter to set up.
        if let Some(link) = self.pick(avoid) {
            return Some(link);
        }
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(link) = self.pick(avoid) {
                return Some(link);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Closes every link.
    pub(crate) fn close_all(&self) {
        for link in self.all().iter() {
            link.close();
        }
    }
}
