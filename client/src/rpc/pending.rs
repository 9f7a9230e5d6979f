//! The pending table: where a reply's `id` is matched to its request, and
//! where a request whose deadline passes is told so.
//!
//! Deadlines are kept in one heap per plug and watched by one task
//! ([`expire`]), rather than by a timer per request: a timer is registered
//! with the runtime and taken out again for every request, and nearly every
//! request ends before its deadline.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Error, Reply};

/// How a waiting request ends.
pub(crate) enum Ended {
    /// Its reply (or the plug's closing) came.
    Outcome(Result<Reply, Error>),
    /// The deadline it was registered with passed first.
    Expired,
}

pub(crate) type Slot = oneshot::Sender<Ended>;

/// Requests waiting for their reply, by id. The ids are the plug's own
/// counter, so a fast non-cryptographic hash is enough.
#[derive(Default)]
pub(crate) struct Pending {
    table: Mutex<Table>,
    /// Wakes [`expire`] when a deadline earlier than all others is set.
    sooner: Notify,
}

#[derive(Default)]
struct Table {
    slots: HashMap<u64, Entry, foldhash::fast::FixedState>,
    /// Every deadline set, earliest first. An entry whose request has ended
    /// (or was registered again) stays until it comes first or the heap is
    /// compacted: it is stale when its slot is gone or has another deadline.
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
}

struct Entry {
    slot: Slot,
    deadline: Option<Instant>,
}

impl Table {
    fn live(&self, deadline: Instant, id: u64) -> bool {
        self.slots
            .get(&id)
            .is_some_and(|e| e.deadline == Some(deadline))
    }
}

impl Pending {
    /// Registers `id`, to be told [`Ended::Expired`] at `deadline` if one is
    /// given. The entry leaves the table when the reply completes it, when
    /// it expires, or when the guard is dropped (a cancelled caller), so the
    /// table never keeps an entry nobody waits for.
    pub(crate) fn insert(
        self: &Arc<Self>,
        id: u64,
        deadline: Option<Instant>,
    ) -> (oneshot::Receiver<Ended>, PendingGuard) {
        let (tx, rx) = oneshot::channel();
        let mut table = self.lock();
        table.slots.insert(id, Entry { slot: tx, deadline });
        let mut soonest = false;
        if let Some(at) = deadline {
            soonest = table
                .deadlines
                .peek()
                .map_or(true, |Reverse(first)| at < first.0);
            table.deadlines.push(Reverse((at, id)));
            // Ended requests leave stale entries behind: drop them once they
            // are half the heap, so it stays within twice what is pending.
            if table.deadlines.len() > 2 * table.slots.len() + 64 {
                let Table { slots, deadlines } = &mut *table;
                deadlines.retain(|Reverse((at, id))| {
                    slots.get(id).is_some_and(|e| e.deadline == Some(*at))
                });
            }
        }
        drop(table);
        if soonest {
            self.sooner.notify_one();
        }
        let guard = PendingGuard {
            table: Arc::clone(self),
            id,
        };
        (rx, guard)
    }

    /// Takes request `id` out of the table, if it waits: the one place a
    /// reply's id finds its request.
    pub(crate) fn take(&self, id: u64) -> Option<Slot> {
        self.lock().slots.remove(&id).map(|e| e.slot)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Ends every pending request with `Error::Closed`.
    pub(crate) fn close_all(&self) {
        let drained: Vec<Slot> = {
            let mut table = self.lock();
            table.deadlines.clear();
            table.slots.drain().map(|(_, e)| e.slot).collect()
        };
        for tx in drained {
            let _ = tx.send(Ended::Outcome(Err(Error::Closed)));
        }
    }

    /// Takes out the requests whose deadline is `now` or earlier, and drops
    /// stale deadlines on the way; returns them and the next deadline.
    fn expired(&self, now: Instant) -> (Vec<Slot>, Option<Instant>) {
        let mut out = Vec::new();
        let mut table = self.lock();
        while let Some(&Reverse((at, id))) = table.deadlines.peek() {
            let live = table.live(at, id);
            if live && at > now {
                return (out, Some(at));
            }
            table.deadlines.pop();
            if live {
                out.extend(table.slots.remove(&id).map(|e| e.slot));
            }
        }
        (out, None)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Tells each request of `pending` registered with a deadline that it
/// passed, when it does; runs until `closed`.
pub(crate) async fn expire(pending: Arc<Pending>, closed: CancellationToken) {
    loop {
        let (due, next) = pending.expired(Instant::now());
        for slot in due {
            let _ = slot.send(Ended::Expired);
        }
        let sooner = pending.sooner.notified();
        match next {
            Some(at) => tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = sooner => {}
                _ = closed.cancelled() => return,
            },
            None => tokio::select! {
                _ = sooner => {}
                _ = closed.cancelled() => return,
            },
        }
    }
}

pub(crate) struct PendingGuard {
    table: Arc<Pending>,
    id: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.table.lock().slots.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn outcome(rx: &mut oneshot::Receiver<Ended>) -> Option<&'static str> {
        match rx.try_recv() {
            Ok(Ended::Outcome(Ok(_))) => Some("reply"),
            Ok(Ended::Outcome(Err(_))) => Some("error"),
            Ok(Ended::Expired) => Some("expired"),
            Err(_) => None,
        }
    }

    #[tokio::test]
    async fn entries_leave_on_reply_or_drop() {
        let p = Arc::new(Pending::default());
        let (mut rx, guard) = p.insert(1, None);
        assert_eq!(p.len(), 1);
        assert!(p
            .take(1)
            .unwrap()
            .send(Ended::Outcome(Err(Error::Closed)))
            .is_ok());
        assert_eq!(outcome(&mut rx), Some("error"));
        drop(guard);
        let (_rx, guard) = p.insert(2, None);
        drop(guard);
        assert_eq!(p.len(), 0);
        assert!(p.take(2).is_none());
    }

    /// Deadlines end their requests in their order, whatever the order they
    /// were set in, once each; an ended or re-registered request is not
    /// told; a deadline sooner than all others wakes the task.
    #[tokio::test(start_paused = true)]
    async fn requests_expire_at_their_deadline_once() {
        let p = Arc::new(Pending::default());
        let closed = CancellationToken::new();
        let task = tokio::spawn(expire(p.clone(), closed.clone()));
        let start = Instant::now();
        let at = |ms| Some(start + Duration::from_millis(ms));
        let (mut late, _g1) = p.insert(1, at(300));
        let (mut replied, _g2) = p.insert(2, at(100));
        let (mut again, _g3) = p.insert(3, at(100));
        let (mut dropped, g4) = p.insert(4, at(100));
        // Registered again later (as after -32003), with another deadline.
        drop(_g3);
        let (mut again2, _g3b) = p.insert(3, at(200));
        drop(g4);
        let _ = p.take(2).unwrap().send(Ended::Outcome(Err(Error::Closed)));
        tokio::time::sleep_until(start + Duration::from_millis(150)).await;
        assert_eq!(outcome(&mut replied), Some("error"));
        assert_eq!(outcome(&mut dropped), None);
        assert_eq!(outcome(&mut again), None);
        assert_eq!(outcome(&mut again2), None, "its new deadline is later");
        assert_eq!(outcome(&mut late), None);
        tokio::time::sleep_until(start + Duration::from_millis(250)).await;
        assert_eq!(outcome(&mut again2), Some("expired"));
        assert_eq!(outcome(&mut late), None);
        // A deadline sooner than the one the task sleeps for.
        let (mut soon, _g5) = p.insert(5, at(260));
        tokio::time::sleep_until(start + Duration::from_millis(270)).await;
        assert_eq!(outcome(&mut soon), Some("expired"));
        assert_eq!(outcome(&mut late), None);
        tokio::time::sleep_until(start + Duration::from_millis(310)).await;
        assert_eq!(outcome(&mut late), Some("expired"));
        assert_eq!(p.len(), 0);
        closed.cancel();
        task.await.unwrap();
    }

    /// Requests that end before their deadline leave the heap within twice
    /// what is pending, however long the deadline.
    #[tokio::test]
    async fn ended_requests_do_not_pile_up() {
        let p = Arc::new(Pending::default());
        let far = Some(Instant::now() + Duration::from_secs(3600));
        let (_stuck, _g) = p.insert(0, far);
        for id in 1..100_000 {
            let (_rx, guard) = p.insert(id, far);
            drop(guard);
        }
        let heap = p.lock().deadlines.len();
        assert!(heap <= 2 + 64, "{heap} deadlines kept for 1 pending");
    }
}
