//! Raw connections as the judge sees them (§4): every message sent must
//! come back once, unchanged, in the order sent (per peer). A message that
//! matches nothing sent is a server push (§4.4-a): noted, and never an
//! excuse for a missing, changed, repeated or reordered echo.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::case::{fail, Ctx, Notes, Step, Verdict};
use crate::conn::{Conn, Options};

/// §4.3-a: raw messages up to this size (body bytes in total) must be echoed.
pub(crate) const SIZE_FLOOR: usize = 1 << 20;

type Message = Vec<Vec<u8>>;

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A DEALER (or REQ) connection to a raw echo server.
pub(crate) struct RawConn {
    pub conn: Conn,
    notes: Notes,
    pending: RefCell<VecDeque<(u64, Message)>>,
    sent: Cell<u64>,
    echoed: RefCell<HashSet<u64>>,
    ignored: RefCell<HashSet<u64>>,
    unmatched: RefCell<Vec<Message>>,
    pushes: Cell<u64>,
}

impl RawConn {
    /// A DEALER connection.
    pub fn dealer(ctx: &Ctx, name: &'static str) -> Step<RawConn> {
        RawConn::open(ctx, name, zmq::DEALER, &Options::default())
    }

    /// A connection of `kind` with socket options.
    pub fn open(
        ctx: &Ctx,
        name: &'static str,
        kind: zmq::SocketType,
        options: &Options,
    ) -> Step<RawConn> {
        let c = RawConn {
            conn: Conn::open_with(ctx, kind, name, ctx.curve.as_ref(), options)?,
            notes: ctx.notes.clone(),
            pending: RefCell::new(VecDeque::new()),
            sent: Cell::new(0),
            echoed: RefCell::new(HashSet::new()),
            ignored: RefCell::new(HashSet::new()),
            unmatched: RefCell::new(Vec::new()),
            pushes: Cell::new(0),
        };
        if ctx.one_peer_only() && kind != zmq::REQ {
            c.sync()?;
        }
        Ok(c)
    }

    /// Sends a message whose echo must come back.
    pub fn send(&self, msg: &[Vec<u8>]) -> Step<()> {
        self.conn.send(msg)?;
        self.track(msg);
        Ok(())
    }

    fn track(&self, msg: &[Vec<u8>]) {
        let n = self.sent.get();
        self.sent.set(n + 1);
        self.pending.borrow_mut().push_back((n, msg.to_vec()));
    }

    /// Messages sent and not echoed yet.
    pub fn in_flight(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Sends `msg` and waits for its echo.
    pub fn round_trip(&self, msg: &[Vec<u8>]) -> Step<()> {
        self.send(msg)?;
        self.expect_next(self.conn.timeout())
    }

    /// Waits for the echo of the oldest message still out.
    pub fn expect_next(&self, limit: Duration) -> Step<()> {
        let deadline = Instant::now() + limit;
        let Some((want_n, _)) = self.pending.borrow().front().map(|(n, m)| (*n, m.len())) else {
            return Ok(());
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(got) = self.conn.recv_within(left)? else {
                return Err(self.missing(want_n, limit));
            };
            if self.file(got)? == Some(want_n) {
                return Ok(());
            }
        }
    }

    /// Waits for every message still out, each within `limit` of the
    /// previous one.
    pub fn expect_all(&self, limit: Duration) -> Step<()> {
        while self.in_flight() > 0 {
            self.expect_next(limit)?;
        }
        Ok(())
    }

    /// Gives up on the oldest message (a drop the spec allows, §4.3-d).
    pub fn forget_oldest(&self) {
        self.pending.borrow_mut().pop_front();
    }

    /// Matches one received message; `Some(n)` when it is the echo of
    /// message `n`, `None` for a push.
    fn file(&self, got: Message) -> Step<Option<u64>> {
        let h = hash(&got);
        let pending = self.pending.borrow();
        let pos = pending.iter().position(|(_, m)| *m == got);
        drop(pending);
        match pos {
            Some(0) => {
                let (n, _) = self.pending.borrow_mut().pop_front().expect("front");
                self.echoed.borrow_mut().insert(h);
                Ok(Some(n))
            }
            Some(i) => {
                let pending = self.pending.borrow();
                let (first, _) = pending[0];
                let (later, _) = pending[i];
                Err(fail(
                    format!("message {first} back next, in the order sent (§4.3-b)"),
                    format!(
                        "message {later} came back first: {}",
                        crate::trace::show_frames(&got)
                    ),
                )
                .hint(
                    "messages of one peer came back out of order: echo them one after another \
                     (a thread pool or a queue per frame reorders them)",
                ))
            }
            None if self.ignored.borrow().contains(&h) => Ok(None),
            None if self.echoed.borrow().contains(&h) => Err(fail(
                "every message back exactly once (§4.3-a)",
                format!("a second echo: {}", crate::trace::show_frames(&got)),
            )
            .hint("the server sent a message back twice")),
            None => {
                self.pushes.set(self.pushes.get() + 1);
                self.conn
                    .note("matches nothing sent: taken for a server push (§4.4-a)");
                let mut u = self.unmatched.borrow_mut();
                if u.len() < 4 {
                    u.push(
                        got.iter()
                            .map(|f| f[..f.len().min(1 << 16)].to_vec())
                            .collect(),
                    );
                }
                Ok(None)
            }
        }
    }

    /// Ends the connection: a last message, which must come back after every
    /// message sent before it.
    pub fn finish(self) -> Step<()> {
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        let sentinel = vec![format!("plug-conformance sentinel {n}").into_bytes()];
        if self.conn.kind != zmq::REQ || self.in_flight() == 0 {
            self.send(&sentinel)?;
            self.expect_all(self.conn.timeout())?;
        }
        if self.pushes.get() > 0 {
            self.notes.detail(format!(
                "messages that match nothing sent, taken for server pushes: {} (§4.4-a)",
                self.pushes.get()
            ));
        }
        Ok(())
    }

    fn sync(&self) -> Step<()> {
        let deadline = Instant::now() + self.conn.timeout();
        loop {
            let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
            let msg = vec![format!("plug-conformance sync {n}").into_bytes()];
            self.send(&msg)?;
            let left = deadline.saturating_duration_since(Instant::now());
            match self.expect_next(left.min(Duration::from_millis(200))) {
                Ok(()) => return Ok(()),
                Err(v) if Instant::now() >= deadline => return Err(v),
                Err(_) => {
                    self.pending.borrow_mut().pop_back();
                    self.ignored.borrow_mut().insert(hash(&msg));
                }
            }
        }
    }

    /// The failure for an echo that did not come, with what came instead.
    fn missing(&self, n: u64, waited: Duration) -> Verdict {
        let pending = self.pending.borrow();
        let want = pending.front().map(|(_, m)| m.clone()).unwrap_or_default();
        let expected = format!(
            "message {n} ({} frame(s), {} bytes) back, unchanged (§4.3-a)",
            want.len(),
            want.iter().map(Vec::len).sum::<usize>()
        );
        let unmatched = self.unmatched.borrow();
        let Some(closest) = unmatched.last() else {
            return fail(
                expected,
                format!("nothing came back within {} ms", waited.as_millis()),
            );
        };
        let (why, hint) = difference(&want, closest);
        fail(
            expected,
            format!(
                "not within {} ms; {} message(s) arrived that match nothing sent (taken for \
                 pushes), the last: {} ({why})",
                waited.as_millis(),
                self.pushes.get(),
                crate::trace::show_frames(closest)
            ),
        )
        .hint(hint)
    }

    /// Whether an unmatched message looks like a changed echo of the oldest
    /// message out (same number of frames, same first bytes).
    pub fn changed_echo_seen(&self) -> bool {
        let pending = self.pending.borrow();
        let Some((_, want)) = pending.front() else {
            return false;
        };
        self.unmatched.borrow().iter().any(|m| {
            m.len() == want.len()
                && m.iter()
                    .zip(want)
                    .all(|(a, b)| a.iter().zip(b).take(64).all(|(x, y)| x == y))
        })
    }
}

fn hash(m: &Message) -> u64 {
    let mut h = DefaultHasher::new();
    m.hash(&mut h);
    h.finish()
}

/// How `got` differs from `want`, and the usual cause.
fn difference(want: &Message, got: &Message) -> (String, &'static str) {
    if got.len() != want.len() {
        let why = format!("{} frame(s) where {} were sent", got.len(), want.len());
        let joined: Vec<u8> = want.concat();
        let hint = if got.len() == 1 && got[0] == joined {
            "the frames were merged into one: send each frame as its own part (SNDMORE), never \
             joined"
        } else if got.len() < want.len() && want.starts_with(got) {
            "frames were lost: echo every frame of the message (read the whole multipart \
             message, not its first part)"
        } else if got.len() == 1 && want.contains(&got[0]) {
            "the message was split: each frame came back as a message of its own; send the \
             frames of one message together (SNDMORE)"
        } else if got.len() < want.len() && want.iter().take_while(|f| f.is_empty()).count() > 0 {
            "leading empty frames were dropped: after the identity, only the first empty frame is \
             a delimiter (§3.4-a); the rest are body"
        } else {
            "the frames changed in number: echo the message frame for frame (§4.2-a)"
        };
        return (why, hint);
    }
    if let Some((i, (a, b))) = want.iter().zip(got).enumerate().find(|(_, (a, b))| a != b) {
        let at = a
            .iter()
            .zip(b.iter())
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let why = format!(
            "frame {i} differs at byte {at}: {} bytes sent, {} received",
            a.len(),
            b.len()
        );
        let hint = if b.len() < a.len() && a.starts_with(b) {
            if a.get(b.len()) == Some(&0) {
                "the frame was cut at a NUL byte: a C string (strlen) was used; keep the length"
            } else {
                "the frame was truncated: a fixed-size buffer or a size limit"
            }
        } else if want.iter().rev().eq(got.iter()) {
            "the frames came back in reverse order (§4.2-a)"
        } else if b.contains(&b'?') || b.windows(3).any(|w| w == [0xef, 0xbf, 0xbd]) {
            "bytes were replaced: the frame was decoded as text; keep it as bytes"
        } else {
            "bytes changed: echo the frames byte for byte"
        };
        return (why, hint);
    }
    (
        "identical".into(),
        "the message arrived after the wait ended",
    )
}
