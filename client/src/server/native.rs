//! The serving loops on the native transport.
//!
//! One task accepts connections; each connection is a peer (as a ROUTER
//! sees it) with a task of its own that reads requests in batches, answers
//! at once those whose handler does not wait, writes the batch of replies
//! with as few system calls as it can, and hands handlers that wait to
//! tasks of their own, whose replies come back through the peer's queue.
//!
//! A peer that does not read its replies fills its writer, and its task
//! keeps reading: a client that sends a burst before it reads would block
//! in its send otherwise (PROTOCOL.md §2.4). The per-peer limit of
//! requests in flight (-32002, §8.2) counts the handlers that wait and the
//! replies still in the writer, so such a peer gets every reply or a
//! -32002, never a reply dropped after its work was done; the other peers
//! are other tasks. Only past [`READ_STOP`] bytes waiting in one writer (a
//! peer that floods and never reads) does its task stop reading, and TCP
//! pushes back on that peer alone.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use plug_zmtp::{Batch, IntoSplit, Options, SocketType, Writer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::futures::Notified;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

use crate::frame::{Frame, Frames};
use crate::protocol::{ErrorObject, Routed};
use crate::transport::native::{Listener, Outgoing, Stream, WRITE_HIGH};

use super::drain::QUIET;
use super::handler::panic_message;
use super::outbox::{hex, log_full, native_frames, peer_name, Peers};
use super::raw::RawHandler;
use super::rpc::{answer, refuse, Answer};
use super::stats::{bump, Counters};
use super::{Handler, Outbox, ServerConfig, ServerError, Stats};

/// Bytes waiting in one peer's writer past which its task stops reading
/// its requests: a bound on what a peer that floods and never reads costs.
const READ_STOP: usize = 64 << 20;

/// The most a peer's task writes in the turn that queued it (`flush_now`).
const FLUSH_NOW_MAX: usize = 64 << 10;

/// How often a draining peer looks again whether it may close.
const DRAIN_TICK: Duration = Duration::from_millis(25);

/// What every peer task of one server shares.
struct Shared {
    config: Arc<ServerConfig>,
    counters: Arc<Counters>,
    peers: Arc<Peers>,
    outbox: Outbox,
    /// Every peer task and every handler that waits.
    tracker: TaskTracker,
    /// Cancelled when the shutdown signal comes: peers start draining.
    draining: CancellationToken,
    /// Cancelled when the drain timeout passes: peers close at once.
    stop: CancellationToken,
    queue_limit: usize,
}

pub(super) async fn serve_rpc<H: Handler>(
    listener: Listener,
    queue_limit: usize,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, ServerError> {
    let handler = Arc::new(handler);
    serve(
        listener,
        queue_limit,
        config,
        shutdown,
        move |stream, shared| {
            let handler = handler.clone();
            async move {
                match stream {
                    Stream::Tcp(s) => rpc_peer(s, shared, handler).await,
                    Stream::Unix(s) => rpc_peer(s, shared, handler).await,
                }
            }
        },
    )
    .await
}

pub(super) async fn serve_raw<H: RawHandler>(
    listener: Listener,
    queue_limit: usize,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, ServerError> {
    let handler = Arc::new(handler);
    serve(
        listener,
        queue_limit,
        config,
        shutdown,
        move |stream, shared| {
            let handler = handler.clone();
            async move {
                match stream {
                    Stream::Tcp(s) => raw_peer(s, shared, handler).await,
                    Stream::Unix(s) => raw_peer(s, shared, handler).await,
                }
            }
        },
    )
    .await
}

/// Accepts until `shutdown`, then drains and returns the counters.
async fn serve<F, P>(
    listener: Listener,
    queue_limit: usize,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
    peer: P,
) -> Result<Stats, ServerError>
where
    P: Fn(Stream, Arc<Shared>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let counters = Arc::new(Counters::default());
    let peers = Arc::new(Peers::default());
    let shared = Arc::new(Shared {
        outbox: Outbox::native(peers.clone(), counters.clone(), config.send_timeout),
        config: Arc::new(config),
        counters,
        peers,
        tracker: TaskTracker::new(),
        draining: CancellationToken::new(),
        stop: CancellationToken::new(),
        queue_limit,
    });
    // Dropping this future (the serving loop's task aborted) closes every
    // connection too.
    let _stop_on_drop = shared.stop.clone().drop_guard();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    shared.tracker.spawn(peer(stream, shared.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: say so, and give the
                    // system a moment rather than spin on the error.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    shared.tracker.close();
    shared.draining.cancel();
    tracing::info!(
        peers = shared.tracker.len(),
        "shutting down: no new connections; refusing new requests (-32003), finishing those in flight"
    );
    let timeout = shared.config.drain_timeout;
    if tokio::time::timeout(timeout, shared.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "drain timeout of {timeout:?} passed; closing {} connections",
            shared.tracker.len()
        );
        shared.stop.cancel();
        shared.tracker.wait().await;
    }
    let stats = shared.counters.snapshot();
    tracing::info!("server stopped: {stats}");
    Ok(stats)
}

/// The handshake, and the peer's place in the routing table for as long
/// as it is connected.
struct Joined<R, W> {
    reader: plug_zmtp::Reader<R>,
    writer: Writer<W>,
    identity: Frame,
    out: Arc<Outgoing>,
    shared: Arc<Shared>,
}

impl<R, W> Drop for Joined<R, W> {
    fn drop(&mut self) {
        self.shared.peers.leave(self.identity.bytes());
        let dropped = self.out.close();
        if dropped > 0 {
            self.shared
                .counters
                .dropped_gone
                .fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(
                peer = hex(&self.identity),
                dropped,
                "peer gone with messages still queued; they were not sent"
            );
        }
    }
}

async fn join<T>(stream: T, shared: Arc<Shared>) -> Option<Joined<T::Read, T::Write>>
where
    T: IntoSplit + AsyncRead + AsyncWrite + Unpin,
{
    let mut options = Options::new(SocketType::Router);
    // Larger messages than the server accepts are still read, so that a
    // request can be answered -32001 (§8.1-c); past twice the limit, and
    // at least 64 MiB, the connection is closed instead: a frame header
    // announcing more is taken as an attack, not a request.
    let cap = shared
        .config
        .max_message_bytes
        .saturating_mul(2)
        .max(64 << 20);
    options.limits.max_message_size = cap as u64;
    let handshake = tokio::select! {
        _ = shared.stop.cancelled() => return None,
        h = plug_zmtp::handshake(stream, &options) => h,
    };
    let connection = match handshake {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("connection refused in the handshake: {e}");
            return None;
        }
    };
    let out = Arc::new(Outgoing::new(shared.queue_limit, true));
    let asked = connection.peer().identity.clone();
    let Some(identity) = shared.peers.join(asked.clone(), out.clone()) else {
        tracing::warn!(
            identity = hex(asked.as_deref().unwrap_or_default()),
            "connection refused: another peer has its routing identity"
        );
        return None;
    };
    let (reader, writer) = connection.into_split();
    tracing::debug!(peer = hex(&identity), "peer connected");
    Some(Joined {
        reader,
        writer,
        identity: Frame::from(identity),
        out,
        shared,
    })
}

/// One rpc peer: reads requests, answers, writes, until it leaves or the
/// server has drained.
async fn rpc_peer<T, H>(stream: T, shared: Arc<Shared>, handler: Arc<H>)
where
    T: IntoSplit + AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let Some(mut peer) = join(stream, shared).await else {
        return;
    };
    let shared = peer.shared.clone();
    let config = shared.config.clone();
    let counters = &shared.counters;
    // Handlers of this peer that wait, each in a task of its own.
    let waiting = Arc::new(AtomicUsize::new(0));
    let mut batch = Batch::default();
    let mut queued: Vec<Frames> = Vec::new();
    let mut last_request = Instant::now();
    let mut tick = tokio::time::interval(DRAIN_TICK);
    let mut stalled = false;
    let mut unsent = Unsent::default();
    let out = peer.out.clone();
    let mut wake = Wake::new(&out, &shared);
    let mut spare = None;
    loop {
        let draining = shared.draining.is_cancelled();
        stalled = note_stalled(&peer, stalled);
        if draining
            && waiting.load(Ordering::Acquire) == 0
            && peer.out.len() == 0
            && peer.writer.is_empty()
            && last_request.elapsed() >= QUIET
        {
            break;
        }
        tokio::select! {
            r = peer.reader.read_batch(&mut batch), if peer.writer.queued() < READ_STOP => {
                if let Err(e) = r {
                    gone(&peer.identity, e);
                    return;
                }
                unsent.untracked(&mut peer.writer, |w| w.answer_pings(&mut batch));
                batch.pongs.clear();
                batch.commands.clear();
                for message in batch.messages.drain(..) {
                    bump(&counters.received);
                    last_request = Instant::now();
                    let outstanding =
                        waiting.load(Ordering::Acquire) + unsent.count(&peer.writer);
                    let routed = Routed::from_peer(peer.identity.clone(), frames(message));
                    let refusal = if shared.draining.is_cancelled() {
                        Some(ErrorObject::shutting_down())
                    } else if outstanding >= config.max_in_flight {
                        Some(ErrorObject::overloaded(config.max_in_flight))
                    } else {
                        None
                    };
                    if let Some(error) = refusal {
                        if let Some(a) = refuse(routed, error, &config, counters) {
                            write(&mut peer.writer, &mut unsent, &shared.outbox, a);
                        }
                        continue;
                    }
                    let next = answer(
                        routed,
                        handler.clone(),
                        shared.outbox.clone(),
                        config.clone(),
                    );
                    // The box of an answer that ended at once holds the
                    // next one: no allocation for a request answered
                    // without a wait.
                    let mut job = match spare.take() {
                        Some(mut job) => {
                            Pin::set(&mut job, next);
                            job
                        }
                        None => Box::pin(next),
                    };
                    match futures_util::poll!(job.as_mut()) {
                        Poll::Ready(Some(a)) => {
                            write(&mut peer.writer, &mut unsent, &shared.outbox, a);
                            spare = Some(job);
                        }
                        Poll::Ready(None) => spare = Some(job),
                        Poll::Pending => {
                            waiting.fetch_add(1, Ordering::AcqRel);
                            let waiting = waiting.clone();
                            let outbox = shared.outbox.clone();
                            let stop = shared.stop.clone();
                            shared.tracker.spawn(async move {
                                let work = async {
                                    if let Some(a) = job.await {
                                        outbox.reply(a.envelope, a.body, a.is_error).await;
                                    }
                                };
                                // Past the drain timeout the server stops
                                // and abandons what is still running.
                                tokio::select! {
                                    _ = work => {}
                                    _ = stop.cancelled() => {}
                                }
                                waiting.fetch_sub(1, Ordering::AcqRel);
                            });
                        }
                    }
                }
                if let Err(e) = flush_now(&mut peer.writer) {
                    gone(&peer.identity, e);
                    return;
                }
            }
            _ = wake.work.as_mut() => {
                wake.work.set(out.notified());
                peer.out.take(&mut queued);
                for message in queued.drain(..) {
                    unsent.queue(&mut peer.writer, message);
                }
                if let Err(e) = flush_now(&mut peer.writer) {
                    gone(&peer.identity, e);
                    return;
                }
            }
            r = peer.writer.flush(), if !peer.writer.is_empty() => {
                if let Err(e) = r {
                    gone(&peer.identity, e);
                    return;
                }
            }
            _ = tick.tick(), if draining => {}
            _ = wake.draining.as_mut(), if !draining => {}
            _ = wake.stop.as_mut() => return,
        }
    }
    tracing::debug!(
        peer = hex(&peer.identity),
        "drained; closing the connection"
    );
}

/// The wake-ups a peer's task waits for besides its socket, made once per
/// connection: a fresh waiter on each turn of the loop would join and leave
/// three lists under their locks for every request.
struct Wake<'a> {
    /// A reply from a handler that waited is queued.
    work: Pin<Box<Notified<'a>>>,
    /// The shutdown signal came.
    draining: Pin<Box<WaitForCancellationFuture<'a>>>,
    /// The drain timeout passed.
    stop: Pin<Box<WaitForCancellationFuture<'a>>>,
}

impl<'a> Wake<'a> {
    fn new(out: &'a Outgoing, shared: &'a Shared) -> Wake<'a> {
        Wake {
            work: Box::pin(out.notified()),
            draining: Box::pin(shared.draining.cancelled()),
            stop: Box::pin(shared.stop.cancelled()),
        }
    }
}

/// Whether the peer's replies wait for room (it is not reading, and so its
/// requests are not read either); the first time, says so at debug level.
fn note_stalled<R, W: AsyncWrite + Unpin>(peer: &Joined<R, W>, was: bool) -> bool {
    let stalled = peer.writer.queued() >= WRITE_HIGH;
    if stalled && !was {
        log_full(&hex(&peer.identity));
    }
    stalled
}

/// One raw peer: its messages one after another, in order (§4.3).
async fn raw_peer<T, H>(stream: T, shared: Arc<Shared>, handler: Arc<H>)
where
    T: IntoSplit + AsyncRead + AsyncWrite + Unpin,
    H: RawHandler,
{
    let Some(mut peer) = join(stream, shared).await else {
        return;
    };
    let shared = peer.shared.clone();
    let limit = shared.config.max_message_bytes;
    let counters = &shared.counters;
    let mut batch = Batch::default();
    let mut queued: Vec<Frames> = Vec::new();
    let mut last_message = Instant::now();
    let mut tick = tokio::time::interval(DRAIN_TICK);
    let mut stalled = false;
    let out = peer.out.clone();
    let mut wake = Wake::new(&out, &shared);
    loop {
        let draining = shared.draining.is_cancelled();
        stalled = note_stalled(&peer, stalled);
        if draining
            && peer.out.len() == 0
            && peer.writer.is_empty()
            && last_message.elapsed() >= QUIET
        {
            break;
        }
        tokio::select! {
            r = peer.reader.read_batch(&mut batch), if peer.writer.queued() < READ_STOP => {
                if let Err(e) = r {
                    gone(&peer.identity, e);
                    return;
                }
                peer.writer.answer_pings(&mut batch);
                batch.pongs.clear();
                batch.commands.clear();
                for message in batch.messages.drain(..) {
                    bump(&counters.received);
                    last_message = Instant::now();
                    let routed = Routed::from_peer(peer.identity.clone(), frames(message));
                    let size: usize = routed.body.iter().map(|f| f.len()).sum();
                    if size > limit {
                        bump(&counters.dropped_incoming);
                        tracing::warn!(
                            peer = peer_name(&routed.envelope),
                            "message dropped: {size} bytes is more than the limit of {limit} bytes"
                        );
                        continue;
                    }
                    let Routed { envelope, body } = routed;
                    // `call` itself inside the caught future: a handler may
                    // panic before it returns its future.
                    let call = AssertUnwindSafe(async { handler.call(&envelope, body).await })
                        .catch_unwind();
                    tokio::pin!(call);
                    let outcome = match futures_util::poll!(call.as_mut()) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => {
                            // Order is kept by waiting here; what is already
                            // answered goes out first.
                            if let Err(e) = peer.writer.flush().await {
                                gone(&peer.identity, e);
                                return;
                            }
                            call.await
                        }
                    };
                    match outcome {
                        Ok(Some(reply)) => {
                            queue(&mut peer.writer, native_frames(&envelope, reply));
                            bump(&counters.replied);
                        }
                        Ok(None) => {}
                        Err(panic) => {
                            bump(&counters.dropped_incoming);
                            tracing::error!(
                                peer = peer_name(&envelope),
                                "raw handler panicked ({}); no reply",
                                panic_message(&*panic)
                            );
                        }
                    }
                }
                if let Err(e) = flush_now(&mut peer.writer) {
                    gone(&peer.identity, e);
                    return;
                }
            }
            _ = wake.work.as_mut() => {
                wake.work.set(out.notified());
                peer.out.take(&mut queued);
                for message in queued.drain(..) {
                    queue(&mut peer.writer, message);
                }
                if let Err(e) = flush_now(&mut peer.writer) {
                    gone(&peer.identity, e);
                    return;
                }
            }
            r = peer.writer.flush(), if !peer.writer.is_empty() => {
                if let Err(e) = r {
                    gone(&peer.identity, e);
                    return;
                }
            }
            _ = tick.tick(), if draining => {}
            _ = wake.draining.as_mut(), if !draining => {}
            _ = wake.stop.as_mut() => return,
        }
    }
}

/// An rpc reply answered at once: into the peer's writer, counted.
fn write<W: AsyncWrite + Unpin>(
    writer: &mut Writer<W>,
    unsent: &mut Unsent,
    outbox: &Outbox,
    a: Answer,
) {
    unsent.queue(writer, native_frames(&a.envelope, [a.body]));
    outbox.replied(a.is_error);
}

/// The replies in a peer's writer that the kernel has not taken yet: for
/// the peer, requests still unanswered. Tracked by where each one ends in
/// the stream of bytes queued on the writer.
#[derive(Default)]
struct Unsent {
    /// Bytes ever queued on the writer.
    total: u64,
    /// Where each reply not yet written ends, in `total`'s terms.
    ends: VecDeque<u64>,
}

impl Unsent {
    /// Queues a reply and counts it.
    fn queue<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut Writer<W>,
        message: impl IntoIterator<Item = Frame>,
    ) {
        self.untracked(writer, |w| queue(w, message));
        self.ends.push_back(self.total);
    }

    /// Runs `append`, which queues bytes that are not a reply (PONGs).
    fn untracked<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut Writer<W>,
        append: impl FnOnce(&mut Writer<W>),
    ) {
        let before = writer.queued();
        append(writer);
        self.total += (writer.queued() - before) as u64;
    }

    /// Replies still in the writer.
    fn count<W: AsyncWrite + Unpin>(&mut self, writer: &Writer<W>) -> usize {
        let written = self.total.saturating_sub(writer.queued() as u64);
        while self.ends.front().is_some_and(|end| *end <= written) {
            self.ends.pop_front();
        }
        self.ends.len()
    }
}

/// Writes what the writer holds if the socket takes it now, so that a reply
/// leaves in the turn of the loop that made it; whatever the socket does
/// not take is written by the loop's flush branch. Only up to
/// [`FLUSH_NOW_MAX`] bytes: a large message is left to the flush branch.
/// Written at once, a 64 MiB echo took twice the server's CPU: the reader
/// looked for its next message while the echo still held its buffer, and
/// took a fresh 64 MiB one for each message, faulting in every page.
fn flush_now<W: AsyncWrite + Unpin>(writer: &mut Writer<W>) -> Result<(), plug_zmtp::Error> {
    if writer.is_empty() || writer.queued() > FLUSH_NOW_MAX {
        return Ok(());
    }
    writer.write_now()
}

fn queue<W: AsyncWrite + Unpin>(writer: &mut Writer<W>, message: impl IntoIterator<Item = Frame>) {
    if let Err(e) = writer.queue(message.into_iter().map(Frame::into_bytes)) {
        tracing::warn!("reply not sent: {e}");
    }
}

fn frames(message: Vec<Bytes>) -> Vec<Frame> {
    message.into_iter().map(Frame::from).collect()
}

fn gone(identity: &[u8], e: plug_zmtp::Error) {
    match e {
        plug_zmtp::Error::Closed => tracing::debug!(peer = hex(identity), "peer left"),
        e => tracing::info!(peer = hex(identity), "peer connection ended: {e}"),
    }
}
