//! A libzmq socket driven by tokio.
//!
//! libzmq exposes one file descriptor per socket (`ZMQ_FD`) that becomes
//! readable when *something* may have changed; only a receive or
//! `ZMQ_EVENTS` tells what. The descriptor is edge-triggered and any
//! operation on the socket (a send included) may consume the edge, so a
//! reader that waits on the descriptor alone can sleep forever with messages
//! queued. The rules kept here:
//!
//! - the socket sits behind a mutex, so any task may send directly, with no
//!   hop through another task (one lock, one syscall-free enqueue);
//! - a reader takes the descriptor's readiness *before* its non-blocking
//!   receive, and clears it only when that receive found nothing: an empty
//!   non-blocking receive has processed every libzmq command, and an edge
//!   that comes after the readiness was taken keeps it set;
//! - a reader says it is about to sleep before that last receive, and a
//!   sender that sees this after its send wakes it, since the send may have
//!   eaten the edge the reader waits for. A sender never asks `ZMQ_EVENTS`
//!   (a `poll(2)` inside libzmq) on the way.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Poll;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

use crate::Frame;

/// First frames up to this size are sent as a copy (see `try_send`).
const COPY_MAX: usize = 16 * 1024;

/// The process-wide ZeroMQ context shared by every plug and server in this
/// process, so that `inproc://` endpoints connect across them.
pub fn context() -> &'static zmq::Context {
    static CONTEXT: OnceLock<zmq::Context> = OnceLock::new();
    CONTEXT.get_or_init(zmq::Context::new)
}

/// Stops `sock`'s monitor, if one was started with [`zmq::Socket::monitor`].
///
/// Call it before the monitor's reading socket is closed. libzmq sends
/// monitor events with a blocking send from its I/O thread, and closing the
/// monitored socket does not stop its monitor (the socket is torn down later,
/// on libzmq's own threads, and reports its disconnections on the way). An
/// event sent once the reader is gone blocks that I/O thread for good, and
/// with it every socket of the context.
pub fn stop_monitor(sock: &mut zmq::Socket) {
    // SAFETY: the pointer is a live socket, borrowed mutably for the call; a
    // null endpoint is libzmq's documented way to stop monitoring.
    unsafe {
        zmq_sys::zmq_socket_monitor(sock.as_mut_ptr(), std::ptr::null(), 0);
    }
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The peer's queue is at its high-water mark (EAGAIN).
    #[error("the peer's queue is full (high-water mark reached)")]
    Full,
    /// A ROUTER has no such peer any more (EHOSTUNREACH).
    #[error("the peer is gone")]
    Unroutable,
    /// Anything else libzmq reported.
    #[error("{0}")]
    Zmq(zmq::Error),
}

/// A libzmq socket usable from many tokio tasks at once.
pub struct AsyncSocket {
    // Declared before `sock` so it is deregistered before the socket (and
    // with it the descriptor) is closed.
    fd: AsyncFd<RawFd>,
    sock: Mutex<zmq::Socket>,
    router: bool,
    /// Set by a reader from its last receive before sleeping until it wakes.
    reader_parked: AtomicBool,
    reader_wake: Notify,
    /// Senders waiting for room, woken when the reader sees the socket change.
    blocked_senders: AtomicUsize,
    writable: Notify,
}

impl AsyncSocket {
    /// Wraps a socket. Must be called inside a tokio runtime.
    pub fn new(sock: zmq::Socket) -> io::Result<AsyncSocket> {
        let fd = sock.get_fd().map_err(io::Error::from)?;
        let router = sock.get_socket_type().map_err(io::Error::from)? == zmq::ROUTER;
        // SAFETY: `ZMQ_FD` stays open as long as the socket, and the socket
        // lives in this struct until after the `AsyncFd` is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(AsyncSocket {
            fd,
            sock: Mutex::new(sock),
            router,
            reader_parked: AtomicBool::new(false),
            reader_wake: Notify::new(),
            blocked_senders: AtomicUsize::new(0),
            writable: Notify::new(),
        })
    }

    /// Runs `f` on the socket, e.g. to set an option or read the endpoint.
    pub fn with<R>(&self, f: impl FnOnce(&zmq::Socket) -> R) -> R {
        let r = f(&self.lock());
        // Options and endpoint calls process libzmq commands too.
        self.nudge_reader();
        r
    }

    /// Stops libzmq's socket monitor, if one was started (see
    /// [`stop_monitor`]).
    pub(crate) fn stop_monitor(&self) {
        stop_monitor(&mut self.lock());
    }

    fn lock(&self) -> MutexGuard<'_, zmq::Socket> {
        self.sock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Receives one whole message if one is queued.
    pub fn try_recv(&self) -> Result<Option<Vec<Frame>>, zmq::Error> {
        let sock = self.lock();
        let first = match sock.recv_msg(zmq::DONTWAIT) {
            Ok(m) => m,
            Err(zmq::Error::EAGAIN) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut frames = vec![Frame::from_zmq(first)];
        // The rest of a multipart message is always there once the first part is.
        while sock.get_rcvmore()? {
            frames.push(Frame::from_zmq(sock.recv_msg(0)?));
        }
        Ok(Some(frames))
    }

    /// Receives the next message, waiting for it.
    ///
    /// One task at a time should receive: a second reader would take
    /// messages and wake-ups from the first.
    pub async fn recv(&self) -> Result<Vec<Frame>, zmq::Error> {
        // Before the first receive: a send from here on wakes us (see the
        // module's rules), and that receive sees anything sent before. The
        // guard clears the mark however this ends, a dropped future included.
        let _parked = Parked::mark(&self.reader_parked);
        self.recv_parked().await
    }

    async fn recv_parked(&self) -> Result<Vec<Frame>, zmq::Error> {
        loop {
            // The readiness as it is now, taken before the receive.
            let ready = std::future::poll_fn(|cx| match self.fd.poll_read_ready(cx) {
                Poll::Ready(guard) => Poll::Ready(Some(guard)),
                Poll::Pending => Poll::Ready(None),
            })
            .await;
            let got = self.try_recv()?;
            // The receive processed libzmq's commands, room for senders
            // included.
            if self.blocked_senders.load(Ordering::SeqCst) > 0 {
                self.writable.notify_waiters();
            }
            if let Some(m) = got {
                return Ok(m);
            }
            if let Some(guard) = ready {
                // Nothing is queued: an edge after `ready` was taken keeps
                // the readiness set, so clearing it loses nothing.
                guard.map_err(|_| zmq::Error::EFAULT)?.clear_ready();
            }
            tokio::select! {
                biased;
                r = self.fd.readable() => {
                    // Kept set: the next turn takes it before receiving.
                    drop(r.map_err(|_| zmq::Error::EFAULT)?);
                }
                _ = self.reader_wake.notified() => {}
            }
        }
    }

    /// Wakes a reader that is about to sleep: a send may have consumed the
    /// edge it waits for.
    fn nudge_reader(&self) {
        if self.reader_parked.load(Ordering::SeqCst) {
            self.reader_wake.notify_one();
        }
    }

    /// Sends one message if the socket can take it now. On failure the
    /// frames come back untouched with the reason.
    pub fn try_send(&self, mut frames: Vec<Frame>) -> Result<(), (Vec<Frame>, SendError)> {
        if frames.is_empty() {
            frames.push(Frame::empty());
        }
        let sock = self.lock();
        let last = frames.len() == 1;
        let flags = zmq::DONTWAIT | if last { 0 } else { zmq::SNDMORE };
        let result = if self.router || frames[0].len() <= COPY_MAX {
            // A refused copy leaves our frame untouched, so a small first
            // frame needs no ZMQ_EVENTS check (a poll(2) inside libzmq)
            // before it. With ZMQ_ROUTER_MANDATORY a refused identity is
            // consumed by libzmq, so a ROUTER always sends a copy of it.
            match sock.send(&frames[0][..], flags) {
                Ok(()) => Ok(frames.drain(1..).collect()),
                Err(e) => Err(e),
            }
        } else {
            match sock.get_events() {
                Ok(ev) if ev.contains(zmq::POLLOUT) => Ok(std::mem::take(&mut frames)),
                Ok(_) => Err(zmq::Error::EAGAIN),
                Err(e) => Err(e),
            }
        };
        let rest: Vec<Frame> = match result {
            Ok(rest) => rest,
            Err(e) => {
                drop(sock);
                self.nudge_reader();
                let kind = match e {
                    zmq::Error::EAGAIN => SendError::Full,
                    zmq::Error::EHOSTUNREACH => SendError::Unroutable,
                    other => SendError::Zmq(other),
                };
                return Err((frames, kind));
            }
        };
        // Once the first part is accepted libzmq takes the rest of the message.
        let n = rest.len();
        for (i, f) in rest.into_iter().enumerate() {
            let flags = if i + 1 < n { zmq::SNDMORE } else { 0 };
            if let Err(e) = sock.send(f.into_zmq(), flags | zmq::DONTWAIT) {
                drop(sock);
                self.nudge_reader();
                return Err((Vec::new(), SendError::Zmq(e)));
            }
        }
        drop(sock);
        self.nudge_reader();
        Ok(())
    }

    /// Sends one message, waiting while the peer's queue is full. A ROUTER
    /// send to a vanished peer fails with [`SendError::Unroutable`].
    pub async fn send(&self, frames: Vec<Frame>) -> Result<(), SendError> {
        // Most sends find room: no waiter registration on the way.
        let mut frames = match self.try_send(frames) {
            Ok(()) => return Ok(()),
            Err((back, SendError::Full)) => back,
            Err((_, e)) => return Err(e),
        };
        let mut pause = Duration::from_millis(2);
        loop {
            let notified = self.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_send(frames) {
                Ok(()) => return Ok(()),
                Err((back, SendError::Full)) => frames = back,
                Err((_, e)) => return Err(e),
            }
            if self.router {
                // A ROUTER's POLLOUT means some peer has room, not this one:
                // thousands of replies waiting for one stalled peer would
                // all wake on every event and spin. Back off instead.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
                continue;
            }
            // The reader wakes us when the socket changes; the short sleep
            // covers a socket with no reader running.
            self.blocked_senders.fetch_add(1, Ordering::SeqCst);
            let _ = tokio::time::timeout(Duration::from_millis(2), notified).await;
            self.blocked_senders.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A reader's "about to sleep" mark, set for as long as it lives.
struct Parked<'a>(&'a AtomicBool);

impl<'a> Parked<'a> {
    fn mark(flag: &'a AtomicBool) -> Parked<'a> {
        flag.store(true, Ordering::SeqCst);
        Parked(flag)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for AsyncSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSocket")
            .field("fd", self.fd.get_ref())
            .field("router", &self.router)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hole the module's rules close: a message arrives while the
    /// reader sleeps, and a send processes libzmq's wake-up command for it
    /// before the runtime looks at the descriptor, so no edge is left.
    #[tokio::test]
    async fn a_send_that_takes_the_readers_wake_up_wakes_it() {
        let ctx = context();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        // The blocking receive below gives up rather than hang the test.
        router.set_rcvtimeo(2000).unwrap();
        router.bind("inproc://socket-edge-test").unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_identity(b"reader").unwrap();
        dealer.connect("inproc://socket-edge-test").unwrap();
        let dealer = AsyncSocket::new(dealer).unwrap();
        dealer.try_send(vec![Frame::from("hello")]).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap()[1], b"hello");

        let mut recv = std::pin::pin!(dealer.recv());
        assert!(futures_util::poll!(recv.as_mut()).is_pending());
        router
            .send_multipart([&b"reader"[..], &b"reply"[..]], 0)
            .unwrap();
        // This single-threaded runtime does not poll the descriptor while we
        // block; past libzmq's ~1 ms command throttle, the send below
        // processes the command that announced the reply.
        std::thread::sleep(Duration::from_millis(20));
        dealer.try_send(vec![Frame::from("meanwhile")]).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), recv)
            .await
            .expect("the reader was left asleep with a message queued")
            .unwrap();
        assert_eq!(got[0].as_str().unwrap(), "reply");
    }

    #[tokio::test]
    async fn dealer_router_round_trip_over_inproc() {
        let ctx = context();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.set_router_mandatory(true).unwrap();
        router.bind("inproc://socket-test").unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.connect("inproc://socket-test").unwrap();
        let router = AsyncSocket::new(router).unwrap();
        let dealer = AsyncSocket::new(dealer).unwrap();
        let deadline = Duration::from_secs(5);
        tokio::time::timeout(deadline, async {
            for i in 0..100u32 {
                dealer.send(vec![Frame::from(i.to_string())]).await.unwrap();
            }
            for i in 0..100u32 {
                let mut m = router.recv().await.unwrap();
                assert_eq!(m.len(), 2);
                assert_eq!(m[1].as_str().unwrap(), i.to_string());
                m[1] = Frame::from(format!("re {i}"));
                router.send(m).await.unwrap();
            }
            for i in 0..100u32 {
                let m = dealer.recv().await.unwrap();
                assert_eq!(m[0].as_str().unwrap(), format!("re {i}"));
            }
        })
        .await
        .expect("deadline");
        let gone = router
            .send(vec![Frame::from("nobody"), Frame::from("x")])
            .await;
        assert!(matches!(gone, Err(SendError::Unroutable)));
    }
}
