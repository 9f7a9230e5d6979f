//! [`Outgoing`]: messages on their way to one native connection.
//!
//! Any task may queue a message; the task that owns the connection takes
//! everything queued at once when it wakes, encodes it and writes it with as
//! few system calls as it can. So under load one wake-up and one `writev`
//! carry a whole batch, and a lone message costs one wake-up.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::Frame;

/// Why a message was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue holds its limit of messages.
    Full,
    /// No connection takes messages now (not yet up, or gone).
    Closed,
}

/// The queue in front of one connection.
pub(crate) struct Outgoing {
    state: Mutex<State>,
    /// Wakes the connection's task: the queue went from empty to not empty.
    work: Notify,
    /// Wakes senders waiting for room, or for the queue to close.
    room: Notify,
    limit: usize,
}

struct State {
    queue: Vec<Vec<Frame>>,
    open: bool,
    /// A sender found the queue full since it last had room.
    stalled: bool,
}

impl Outgoing {
    /// A queue of at most `limit` messages (at least 1), open or not.
    pub(crate) fn new(limit: usize, open: bool) -> Outgoing {
        Outgoing {
            state: Mutex::new(State {
                queue: Vec::new(),
                open,
                stalled: false,
            }),
            work: Notify::new(),
            room: Notify::new(),
            limit: limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `message` if there is room now; gives it back otherwise.
    pub(crate) fn try_push(&self, message: Vec<Frame>) -> Result<(), (Vec<Frame>, Refused)> {
        let mut state = self.lock();
        if !state.open {
            return Err((message, Refused::Closed));
        }
        if state.queue.len() >= self.limit {
            return Err((message, Refused::Full));
        }
        state.queue.push(message);
        let first = state.queue.len() == 1;
        drop(state);
        // A non-empty queue already has a wake-up on its way: the task
        // empties the whole queue each time it wakes.
        if first {
            self.work.notify_one();
        }
        Ok(())
    }

    /// Queues `message`, waiting for room. Fails only when the queue is
    /// closed (the message is dropped with it).
    pub(crate) async fn push(&self, message: Vec<Frame>) -> Result<(), Refused> {
        // Most messages find room at once: no waiter to set up.
        let mut message = match self.try_push(message) {
            Ok(()) => return Ok(()),
            Err((_, Refused::Closed)) => return Err(Refused::Closed),
            Err((back, Refused::Full)) => back,
        };
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.try_push(message) {
                Ok(()) => return Ok(()),
                Err((_, Refused::Closed)) => return Err(Refused::Closed),
                Err((back, Refused::Full)) => message = back,
            }
            room.await;
        }
    }

    /// Takes every queued message into `into` (the connection's task).
    pub(crate) fn take(&self, into: &mut Vec<Vec<Frame>>) {
        let mut state = self.lock();
        if state.queue.is_empty() {
            return;
        }
        let was_full = state.queue.len() >= self.limit;
        state.stalled = false;
        if into.is_empty() {
            std::mem::swap(into, &mut state.queue);
        } else {
            into.append(&mut state.queue);
        }
        drop(state);
        if was_full {
            self.room.notify_waiters();
        }
    }

    /// Waits until something may be queued (cancel-safe; a wake-up that
    /// came while nobody waited is kept).
    pub(crate) async fn work(&self) {
        self.work.notified().await
    }

    /// Opens the queue: a connection is up.
    pub(crate) fn open(&self) {
        self.lock().open = true;
    }

    /// Closes the queue and drops what it held, returning how many messages
    /// that was. Senders waiting for room see [`Refused::Closed`].
    pub(crate) fn close(&self) -> usize {
        let dropped = {
            let mut state = self.lock();
            state.open = false;
            std::mem::take(&mut state.queue).len()
        };
        self.room.notify_waiters();
        dropped
    }

    /// Marks the queue as having turned a sender away; true the first time
    /// since it last had room (so a caller can log a full queue once).
    pub(crate) fn mark_stalled(&self) -> bool {
        !std::mem::replace(&mut self.lock().stalled, true)
    }

    /// Messages queued now.
    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn msg(s: &str) -> Vec<Frame> {
        vec![Frame::from(s)]
    }

    #[tokio::test]
    async fn full_queue_waits_for_take_and_close_refuses() {
        let q = std::sync::Arc::new(Outgoing::new(2, true));
        q.try_push(msg("a")).unwrap();
        q.try_push(msg("b")).unwrap();
        assert_eq!(q.try_push(msg("c")).unwrap_err().1, Refused::Full);
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.push(msg("c")).await }
        });
        // The waiter cannot finish until there is room.
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let mut got = Vec::new();
        q.take(&mut got);
        assert_eq!(got.len(), 2);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q.close(), 1);
        assert_eq!(q.try_push(msg("d")).unwrap_err().1, Refused::Closed);
    }

    #[tokio::test]
    async fn the_first_message_wakes_the_owner() {
        let q = Outgoing::new(8, true);
        q.try_push(msg("a")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), q.work())
            .await
            .expect("a wake-up for the first message");
    }
}
