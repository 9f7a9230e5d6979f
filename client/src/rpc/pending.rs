//! The pending table: where a reply's `id` is matched to its request, and
//! where a request whose deadline passes is told so.
//!
//! Deadlines are kept in one heap per plug and watched by one task
//! ([`expire`]), rather than by a timer per request: a timer is registered
//! with the runtime and taken out again for every request, and nearly every
//! request ends before its deadline.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;
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

/// Requests waiting for their reply, by id. The ids are the plug's own
/// counter, so a fast non-cryptographic hash is enough. A request's entry
/// is also where its end is left for it: no channel per request.
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
    /// compacted: it is stale when its slot is gone, has ended, or has
    /// another deadline.
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
}

struct Entry {
    state: State,
    deadline: Option<Instant>,
}

enum State {
    /// No end yet; the waker of the request's last poll.
    Waiting(Option<Waker>),
    /// Ended, until the request's next poll takes it.
    Done(Ended),
}

impl Entry {
    fn waits(&self) -> bool {
        matches!(self.state, State::Waiting(_))
    }

    /// Leaves `ended` for a request that waits; its waker.
    fn finish(&mut self, ended: Ended) -> Option<Waker> {
        match std::mem::replace(&mut self.state, State::Done(ended)) {
            State::Waiting(waker) => waker,
            State::Done(_) => unreachable!("finished once: callers check `waits`"),
        }
    }
}

impl Table {
    fn live(&self, deadline: Instant, id: u64) -> bool {
        self.slots
            .get(&id)
            .is_some_and(|e| e.deadline == Some(deadline) && e.waits())
    }

    /// Leaves `ended` for request `id` if it still waits; its waker, or
    /// `ended` back when it does not wait (boxed: that is rare).
    fn end(&mut self, id: u64, ended: Ended) -> Result<Option<Waker>, Box<Ended>> {
        match self.slots.get_mut(&id) {
            Some(entry) if entry.waits() => Ok(entry.finish(ended)),
            _ => Err(Box::new(ended)),
        }
    }
}

impl Pending {
    /// Registers `id`, to be told [`Ended::Expired`] at `deadline` if one is
    /// given. The entry leaves the table when the request takes how it
    /// ended, or when the guard is dropped (a cancelled caller), so the
    /// table never keeps an entry nobody waits for.
    pub(crate) fn insert(self: &Arc<Self>, id: u64, deadline: Option<Instant>) -> PendingGuard {
        let mut table = self.lock();
        table.slots.insert(
            id,
            Entry {
                state: State::Waiting(None),
                deadline,
            },
        );
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
        PendingGuard {
            table: Arc::clone(self),
            id,
            taken: false,
        }
    }

    /// Whether request `id` waits for its reply: the one place a reply's id
    /// finds its request.
    pub(crate) fn take(&self, id: u64) -> Option<Slot<'_>> {
        let waits = self.lock().slots.get(&id).is_some_and(Entry::waits);
        waits.then_some(Slot { pending: self, id })
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Ends every pending request with `Error::Closed`.
    pub(crate) fn close_all(&self) {
        let wakers: Vec<Waker> = {
            let mut table = self.lock();
            table.deadlines.clear();
            table
                .slots
                .values_mut()
                .filter(|e| e.waits())
                .filter_map(|e| e.finish(Ended::Outcome(Err(Error::Closed))))
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Ends the requests whose deadline is `now` or earlier, and drops
    /// stale deadlines on the way; returns their wakers and the next
    /// deadline.
    fn expired(&self, now: Instant) -> (Vec<Waker>, Option<Instant>) {
        let mut out = Vec::new();
        let mut table = self.lock();
        while let Some(&Reverse((at, id))) = table.deadlines.peek() {
            let live = table.live(at, id);
            if live && at > now {
                return (out, Some(at));
            }
            table.deadlines.pop();
            if live {
                out.extend(
                    table
                        .slots
                        .get_mut(&id)
                        .and_then(|e| e.finish(Ended::Expired)),
                );
            }
        }
        (out, None)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A request found waiting by [`Pending::take`], to be told how it ended.
pub(crate) struct Slot<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Slot<'_> {
    /// Tells the request `ended`; gives it back when the request stopped
    /// waiting since it was found (its caller gave up, or it expired).
    pub(crate) fn send(self, ended: Ended) -> Result<(), Box<Ended>> {
        let waker = self.pending.lock().end(self.id, ended)?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

/// Tells each request of `pending` registered with a deadline that it
/// passed, when it does; runs until `closed`.
pub(crate) async fn expire(pending: Arc<Pending>, closed: CancellationToken) {
    loop {
        let (due, next) = pending.expired(Instant::now());
        due.into_iter().for_each(Waker::wake);
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

/// A request's place in the table: how it ends comes through it, and
/// dropping it takes the entry out.
pub(crate) struct PendingGuard {
    table: Arc<Pending>,
    id: u64,
    /// The end was taken, and the entry with it.
    taken: bool,
}

impl PendingGuard {
    /// Waits until the request ends (cancel-safe: an end not taken stays
    /// in the table for the next wait).
    pub(crate) async fn ended(&mut self) -> Ended {
        poll_fn(|cx| self.poll_ended(cx)).await
    }

    fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<Ended> {
        let mut table = self.table.lock();
        let Some(entry) = table.slots.get_mut(&self.id) else {
            // Taken by an earlier wait: nothing more will come.
            return Poll::Ready(Ended::Outcome(Err(Error::Closed)));
        };
        match &mut entry.state {
            State::Waiting(waker) => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            State::Done(_) => match table.slots.remove(&self.id) {
                Some(Entry {
                    state: State::Done(ended),
                    ..
                }) => {
                    self.taken = true;
                    Poll::Ready(ended)
                }
                _ => unreachable!("matched as done"),
            },
        }
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        if !self.taken {
            self.table.lock().slots.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use futures_util::FutureExt;

    /// How the request ended, if it has, without waiting.
    fn outcome(guard: &mut PendingGuard) -> Option<&'static str> {
        match guard.ended().now_or_never()? {
            Ended::Outcome(Ok(_)) => Some("reply"),
            Ended::Outcome(Err(_)) => Some("error"),
            Ended::Expired => Some("expired"),
        }
    }

    #[tokio::test]
    async fn entries_leave_on_reply_or_drop() {
        let p = Arc::new(Pending::default());
        let mut guard = p.insert(1, None);
        assert_eq!(p.len(), 1);
        assert_eq!(outcome(&mut guard), None);
        assert!(p
            .take(1)
            .unwrap()
            .send(Ended::Outcome(Err(Error::Closed)))
            .is_ok());
        // Ended once: a second reply with its id finds nothing waiting.
        assert!(p.take(1).is_none());
        assert_eq!(outcome(&mut guard), Some("error"));
        assert_eq!(p.len(), 0, "taking the end takes the entry out");
        drop(guard);
        let guard = p.insert(2, None);
        let found = p.take(2).unwrap();
        drop(guard);
        assert_eq!(p.len(), 0);
        assert!(p.take(2).is_none());
        // Found, then given up on before the reply is told: it comes back.
        assert!(found.send(Ended::Expired).is_err());
    }

    /// A request waiting in another task is woken by its end: a reply, or
    /// the plug's closing.
    #[tokio::test]
    async fn a_waiting_request_is_woken_by_its_end() {
        let p = Arc::new(Pending::default());
        let waiting = |id| {
            let mut guard = p.insert(id, None);
            tokio::spawn(async move {
                match guard.ended().await {
                    Ended::Outcome(Err(Error::Closed)) => "closed",
                    Ended::Outcome(_) => "other",
                    Ended::Expired => "told",
                }
            })
        };
        let (told, closed) = (waiting(1), waiting(2));
        // The current-thread runtime runs both tasks up to their wait.
        tokio::task::yield_now().await;
        assert_eq!(p.len(), 2);
        assert!(p.take(1).unwrap().send(Ended::Expired).is_ok());
        p.close_all();
        let within = |task| tokio::time::timeout(Duration::from_secs(10), task);
        assert_eq!(within(told).await.expect("woken").unwrap(), "told");
        assert_eq!(within(closed).await.expect("woken").unwrap(), "closed");
        assert_eq!(p.len(), 0);
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
        let mut late = p.insert(1, at(300));
        let mut replied = p.insert(2, at(100));
        let again = p.insert(3, at(100));
        let dropped = p.insert(4, at(100));
        // Registered again later (as after -32003), with another deadline.
        drop(again);
        let mut again2 = p.insert(3, at(200));
        drop(dropped);
        let _ = p.take(2).unwrap().send(Ended::Outcome(Err(Error::Closed)));
        tokio::time::sleep_until(start + Duration::from_millis(150)).await;
        assert_eq!(outcome(&mut replied), Some("error"));
        assert!(p.take(4).is_none(), "dropped, so gone");
        assert_eq!(outcome(&mut again2), None, "its new deadline is later");
        assert_eq!(outcome(&mut late), None);
        tokio::time::sleep_until(start + Duration::from_millis(250)).await;
        assert_eq!(outcome(&mut again2), Some("expired"));
        assert_eq!(outcome(&mut late), None);
        // A deadline sooner than the one the task sleeps for.
        let mut soon = p.insert(5, at(260));
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
        let _stuck = p.insert(0, far);
        for id in 1..100_000 {
            drop(p.insert(id, far));
        }
        let heap = p.lock().deadlines.len();
        assert!(heap <= 2 + 64, "{heap} deadlines kept for 1 pending");
    }
}
