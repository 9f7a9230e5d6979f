//! [`Outgoing`]: messages on their way to one native connection.
//!
//! Any task may queue a message; the task that owns the connection takes
//! everything queued at once when it wakes, encodes it and writes it with as
//! few system calls as it can. So under load one wake-up and one `writev`
//! carry a whole batch.
//!
//! A connection may also lend its writer to the queue ([`Outgoing::attach`]).
//! Then a message pushed with [`Outgoing::try_push_now`] while nothing is
//! queued or unwritten is written by the task that pushes it, at once: a lone
//! request leaves without waking the connection's task. The writer stays
//! behind the queue's lock, so whoever writes, the bytes leave in the order
//! they were pushed. A sender that fills the queue to a mark
//! ([`Outgoing::try_push_or_write`]) writes the whole queue the same way, so
//! that the peer gets work before the senders' task yields.

use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use tokio::sync::Notify;

use super::WRITE_HIGH;
use crate::frame::{Frame, Frames};

/// A connection's writer as the queue holds it.
pub(crate) type SharedWriter = plug_zmtp::Writer<Box<dyn AsyncWrite + Send + Unpin>>;

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
    queue: Vec<Frames>,
    open: bool,
    /// The connection's writer, when it lent it.
    writer: Option<SharedWriter>,
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
                writer: None,
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
    pub(crate) fn try_push(&self, message: Frames) -> Result<(), (Frames, Refused)> {
        self.push_locked(self.lock(), message)
    }

    /// [`Outgoing::try_push`] under a lock already taken.
    fn push_locked(
        &self,
        mut state: MutexGuard<'_, State>,
        message: Frames,
    ) -> Result<(), (Frames, Refused)> {
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

    /// Like [`Outgoing::try_push`], but once the queue holds `write_at`
    /// messages this task writes them all, under the lock, rather than
    /// leave them for the connection's task. That task runs only when the
    /// senders' tasks yield: a caller that completes a hundred replies and
    /// sends a hundred requests in one turn would otherwise hand the peer
    /// nothing until the turn ends, and the two sides would work in turns
    /// instead of at once. Not while the writer holds `WRITE_HIGH` bytes
    /// unwritten (the peer is not reading): then the queue fills and
    /// senders wait, as with `try_push`.
    pub(crate) fn try_push_or_write(
        &self,
        message: Frames,
        write_at: usize,
    ) -> Result<(), (Frames, Refused)> {
        let mut state = self.lock();
        let at_mark = state.open && state.queue.len() + 1 >= write_at;
        let State { queue, writer, .. } = &mut *state;
        let Some(writer) = writer
            .as_mut()
            .filter(|w| at_mark && w.queued() < WRITE_HIGH)
        else {
            return self.push_locked(state, message);
        };
        let was_full = queue.len() >= self.limit;
        for m in queue.drain(..).chain(std::iter::once(message)) {
            queue_on(writer, m);
        }
        let written = writer.write_now().is_ok() && writer.is_empty();
        state.stalled = false;
        drop(state);
        if was_full {
            self.room.notify_waiters();
        }
        // What the socket did not take (or an error) is the task's to see.
        if !written {
            self.work.notify_one();
        }
        Ok(())
    }

    /// Like [`Outgoing::try_push`], but when nothing is queued or unwritten
    /// the message is written at once from this task. What the socket does
    /// not take stays in the writer, and the connection's task is woken to
    /// write it; so is it when the write fails, to find the error.
    pub(crate) fn try_push_now(&self, message: Frames) -> Result<(), (Frames, Refused)> {
        let mut state = self.lock();
        let idle = state.open && state.queue.is_empty();
        let Some(writer) = state.writer.as_mut().filter(|w| idle && w.is_empty()) else {
            return self.push_locked(state, message);
        };
        if !queue_on(writer, message) {
            return Ok(());
        }
        if writer.write_now().is_ok() && writer.is_empty() {
            return Ok(());
        }
        drop(state);
        self.work.notify_one();
        Ok(())
    }

    /// Queues `message`, waiting for room. Fails only when the queue is
    /// closed (the message is dropped with it).
    pub(crate) async fn push(&self, message: Frames) -> Result<(), Refused> {
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
    pub(crate) fn take(&self, into: &mut Vec<Frames>) {
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

    /// Completes when something may have been queued. A wake-up that came
    /// while nobody waited is kept. A loop keeps one of these across its
    /// turns and makes a new one only after it fired: a new one on each
    /// turn would join and leave the list of waiters under its lock.
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.work.notified()
    }

    /// Opens the queue: a connection is up, and lends it its writer.
    pub(crate) fn attach(&self, writer: SharedWriter) {
        let mut state = self.lock();
        state.open = true;
        state.writer = Some(writer);
    }

    /// Runs `f` on the lent writer (the connection's task), if there is one.
    pub(crate) fn with_writer<R>(&self, f: impl FnOnce(&mut SharedWriter) -> R) -> Option<R> {
        self.lock().writer.as_mut().map(f)
    }

    /// Writes what the lent writer holds; ready at once without one.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<Result<(), plug_zmtp::Error>> {
        match self.lock().writer.as_mut() {
            Some(writer) => writer.poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Closes the queue and drops what it held, returning how many messages
    /// that was; the writer lent with it, if any, is dropped too. Senders
    /// waiting for room see [`Refused::Closed`].
    pub(crate) fn close(&self) -> usize {
        let (dropped, writer) = {
            let mut state = self.lock();
            state.open = false;
            (std::mem::take(&mut state.queue).len(), state.writer.take())
        };
        drop(writer);
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

/// Queues `message` on `writer`; `false` (logged) when the writer refuses
/// it.
fn queue_on(writer: &mut SharedWriter, message: Frames) -> bool {
    match writer.queue(message.into_iter().map(Frame::into_bytes)) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "message not sent");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::time::Duration;

    fn msg(s: &str) -> Frames {
        smallvec::smallvec![Frame::from(s)]
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

    /// Two connected ends after their handshakes: a DEALER whose writer is
    /// lent to `q`, and a ROUTER to read what it sends.
    async fn lent(q: &Outgoing) -> plug_zmtp::Reader<tokio::net::unix::OwnedReadHalf> {
        use plug_zmtp::{Options, SocketType};
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let dealer = Options::new(SocketType::Dealer);
        let router = Options::new(SocketType::Router);
        let (a, b) = tokio::join!(
            plug_zmtp::handshake(a, &dealer),
            plug_zmtp::handshake(b, &router)
        );
        let (_, writer) = a.unwrap().into_split();
        q.attach(writer.boxed());
        b.unwrap().into_split().0
    }

    async fn next(
        reader: &mut plug_zmtp::Reader<tokio::net::unix::OwnedReadHalf>,
    ) -> Vec<Vec<bytes::Bytes>> {
        let mut batch = plug_zmtp::Batch::default();
        tokio::time::timeout(Duration::from_secs(5), reader.read_batch(&mut batch))
            .await
            .expect("a message within 5 s")
            .unwrap();
        batch.messages
    }

    #[tokio::test]
    async fn a_lone_message_is_written_without_waking_the_owner() {
        let q = Outgoing::new(8, false);
        let mut reader = lent(&q).await;
        q.try_push_now(msg("lone")).unwrap();
        assert_eq!(q.len(), 0, "written, not queued");
        assert_eq!(
            next(&mut reader).await,
            vec![vec![bytes::Bytes::from("lone")]]
        );
        // No wake-up was stored for the owner: nothing is left for it to do.
        assert!(q.notified().now_or_never().is_none());
    }

    #[tokio::test]
    async fn the_sender_that_fills_the_queue_to_the_mark_writes_it() {
        let q = Outgoing::new(8, false);
        let mut reader = lent(&q).await;
        q.try_push_or_write(msg("a"), 3).unwrap();
        q.try_push_or_write(msg("b"), 3).unwrap();
        assert_eq!(q.len(), 2, "below the mark: queued for the owner");
        q.try_push_or_write(msg("c"), 3).unwrap();
        assert_eq!(q.len(), 0, "written by the sender");
        let mut got = Vec::new();
        while got.len() < 3 {
            got.extend(next(&mut reader).await);
        }
        let sent: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|s| vec![bytes::Bytes::from(*s)])
            .collect();
        assert_eq!(got, sent, "in the order they were pushed");
    }

    #[tokio::test]
    async fn a_writer_the_peer_does_not_drain_is_left_to_the_owner() {
        let q = Outgoing::new(8, false);
        let _reader = lent(&q).await;
        // More than WRITE_HIGH unwritten, as when the peer stopped reading.
        let big = bytes::Bytes::from(vec![0u8; WRITE_HIGH + 1]);
        q.with_writer(|w| w.queue([big]).unwrap());
        for s in ["a", "b", "c"] {
            q.try_push_or_write(msg(s), 3).unwrap();
        }
        assert_eq!(q.len(), 3, "queued: the senders wait for room from here on");
    }

    #[tokio::test]
    async fn a_message_behind_queued_ones_waits_its_turn() {
        let q = Outgoing::new(8, false);
        let mut reader = lent(&q).await;
        q.try_push(msg("first")).unwrap();
        q.try_push_now(msg("second")).unwrap();
        // Written now, "second" would overtake "first".
        assert_eq!(q.len(), 2);
        let mut taken = Vec::new();
        q.take(&mut taken);
        q.with_writer(|w| {
            for m in taken.drain(..) {
                w.queue(m.into_iter().map(Frame::into_bytes)).unwrap();
            }
        });
        std::future::poll_fn(|cx| q.poll_flush(cx)).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            got.extend(next(&mut reader).await);
        }
        assert_eq!(
            got,
            vec![
                vec![bytes::Bytes::from("first")],
                vec![bytes::Bytes::from("second")]
            ]
        );
    }

    #[tokio::test]
    async fn the_first_message_wakes_the_owner() {
        let q = Outgoing::new(8, true);
        q.try_push(msg("a")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), q.notified())
            .await
            .expect("a wake-up for the first message");
    }
}
