//! The raw-mode serving loop (PROTOCOL.md §4).
//!
//! Each peer gets a queue and a task that handles its messages one at a
//! time, so one peer's replies keep the order of its messages (§4.3) while
//! a slow or full peer holds up nobody else.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::mpsc;

use crate::protocol::{Envelope, Routed};
use crate::socket::AsyncSocket;
use crate::Frame;

use super::handler::panic_message;
use super::outbox::peer_name;
use super::shutdown::{Active, Tracker};
use super::stats::{bump, Counters};
use super::{Outbox, ServerConfig, ServerError, Stats};

/// How long a peer's task waits for another message before it ends.
const PEER_IDLE: Duration = Duration::from_secs(5);
/// How long the receiving loop waits for room in the queue of a peer whose
/// task is busy (not stuck on a peer that does not read).
const CATCH_UP: Duration = Duration::from_secs(1);

/// Maps the body of a received raw message to the body of its reply.
///
/// Calls for one peer run one after another, in the order the messages
/// arrived; calls for different peers run concurrently.
pub trait RawHandler: Send + Sync + 'static {
    /// The reply to `body` from the peer of `envelope`, or `None` for no
    /// reply. The reply goes back in the same envelope.
    fn call(
        &self,
        envelope: &Envelope,
        body: Vec<Frame>,
    ) -> impl Future<Output = Option<Vec<Frame>>> + Send;
}

/// The raw echo: every message back to its sender, frame for frame, with
/// no copy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl RawHandler for Echo {
    fn call(
        &self,
        _envelope: &Envelope,
        body: Vec<Frame>,
    ) -> impl Future<Output = Option<Vec<Frame>>> + Send {
        std::future::ready(Some(body))
    }
}

/// A [`RawHandler`] from a plain function of the body.
///
/// ```
/// use plug::server::raw_fn;
/// let upper = raw_fn(|body: Vec<plug::Frame>| {
///     Some(body.iter().map(|f| plug::Frame::from(f.to_ascii_uppercase())).collect())
/// });
/// # let _ = upper;
/// ```
pub fn raw_fn<F>(f: F) -> RawFn<F>
where
    F: Fn(Vec<Frame>) -> Option<Vec<Frame>> + Send + Sync + 'static,
{
    RawFn(f)
}

/// See [`raw_fn`].
#[derive(Clone, Copy, Debug)]
pub struct RawFn<F>(F);

impl<F> RawHandler for RawFn<F>
where
    F: Fn(Vec<Frame>) -> Option<Vec<Frame>> + Send + Sync + 'static,
{
    fn call(
        &self,
        _envelope: &Envelope,
        body: Vec<Frame>,
    ) -> impl Future<Output = Option<Vec<Frame>>> + Send {
        std::future::ready((self.0)(body))
    }
}

struct Item {
    routed: Routed,
    _active: Active,
}

/// The receiving side of one peer's queue, as the receiving loop sees it.
#[derive(Clone)]
struct Queue {
    tx: mpsc::Sender<Item>,
    /// Whether the peer's task is waiting for room in the peer's zmq queue.
    stalled: Arc<AtomicBool>,
}

type Queues = Arc<Mutex<HashMap<Vec<u8>, Queue>>>;

/// Serves raw messages on a bound ROUTER socket until `shutdown` completes,
/// then stops receiving, lets queued messages be answered (up to
/// [`ServerConfig::drain_timeout`]) and returns what it did.
///
/// Raw mode has no error reply, so a message is dropped, with a warning and
/// counted in [`Stats::dropped_incoming`], when it is larger than
/// [`ServerConfig::max_message_bytes`], or when its peer's queue
/// ([`ServerConfig::max_in_flight`] messages) is full while that peer does
/// not read its replies. A queue that is full only because its task is busy
/// makes the loop wait (up to a second) instead.
///
/// The loop runs in a task of its own on the current runtime, hence the
/// `Send + 'static` bound on `shutdown`; dropping the returned future stops
/// it like any other.
///
/// # Examples
///
/// ```no_run
/// use plug::server::{self, Echo, ServerConfig};
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (socket, endpoint) = server::bind("tcp://127.0.0.1:*")?;
/// println!("listening on {endpoint}");
/// server::run_raw(socket, Echo, ServerConfig::raw(), server::shutdown_signal()).await?;
/// # Ok(()) }
/// ```
pub async fn run_raw<H: RawHandler>(
    socket: AsyncSocket,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stats, ServerError> {
    super::serve_in_task(serve_raw(socket, handler, config, shutdown)).await
}

async fn serve_raw<H: RawHandler>(
    socket: AsyncSocket,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, ServerError> {
    let counters = Arc::new(Counters::default());
    let outbox = Outbox::new(Arc::new(socket), counters.clone(), config.send_timeout);
    let handler = Arc::new(handler);
    let tracker = Tracker::default();
    let queues: Queues = Arc::default();
    tokio::pin!(shutdown);
    while let Some(routed) = outbox.receive(shutdown.as_mut()).await? {
        let size: usize = routed.body.iter().map(|f| f.len()).sum();
        if size > config.max_message_bytes {
            bump(&counters.dropped_incoming);
            tracing::warn!(
                peer = peer_name(&routed.envelope),
                "message dropped: {size} bytes is more than the limit of {} bytes",
                config.max_message_bytes
            );
            continue;
        }
        let key = routed
            .envelope
            .identity()
            .map_or(Vec::new(), |f| f.to_vec());
        let item = Item {
            routed,
            _active: tracker.start(),
        };
        let queue = {
            let mut map = queues.lock().unwrap_or_else(|p| p.into_inner());
            let queue = map.entry(key.clone()).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(config.max_in_flight);
                let stalled = Arc::new(AtomicBool::new(false));
                let peer = Peer {
                    key,
                    rx,
                    stalled: stalled.clone(),
                    queues: queues.clone(),
                };
                tokio::spawn(peer.serve(handler.clone(), outbox.clone()));
                Queue { tx, stalled }
            });
            match queue.tx.try_send(item) {
                Ok(()) => continue,
                Err(e) => (queue.clone(), e.into_inner()),
            }
        };
        let (queue, item) = queue;
        let peer = peer_name(&item.routed.envelope);
        // A busy peer task catches up in moments: wait for it, as TCP would
        // push back. A task stuck on a peer that does not read its replies
        // would hold everyone up, so that peer's excess is dropped instead.
        let delivered = !queue.stalled.load(Ordering::SeqCst)
            && matches!(
                tokio::time::timeout(CATCH_UP, queue.tx.send(item)).await,
                Ok(Ok(()))
            );
        if !delivered {
            bump(&counters.dropped_incoming);
            tracing::warn!(
                peer,
                "message dropped: the peer does not read its replies and has {} messages waiting",
                config.max_in_flight
            );
        }
    }
    // Without senders, each peer task ends once its queue is empty.
    queues.lock().unwrap_or_else(|p| p.into_inner()).clear();
    tracker.drain(config.drain_timeout, "messages").await;
    let stats = counters.snapshot();
    tracing::info!("server stopped: {stats}");
    Ok(stats)
}

/// One peer's task: its messages, one at a time, in order.
struct Peer {
    key: Vec<u8>,
    rx: mpsc::Receiver<Item>,
    stalled: Arc<AtomicBool>,
    queues: Queues,
}

impl Peer {
    async fn serve<H: RawHandler>(mut self, handler: Arc<H>, outbox: Outbox) {
        loop {
            let item = match tokio::time::timeout(PEER_IDLE, self.rx.recv()).await {
                Ok(Some(item)) => item,
                Ok(None) => return,
                Err(_) => {
                    // The receiving loop only enqueues under this lock or
                    // into a full queue, so an empty queue here stays empty
                    // until the entry is gone.
                    let mut map = self.queues.lock().unwrap_or_else(|p| p.into_inner());
                    if self.rx.is_empty() {
                        map.remove(&self.key);
                        return;
                    }
                    continue;
                }
            };
            let Item { routed, _active } = item;
            let Routed { envelope, body } = routed;
            // A panic would end this peer's task and strand its queue: it
            // costs this one message instead (raw mode has no error reply).
            let outcome = AssertUnwindSafe(async { handler.call(&envelope, body).await })
                .catch_unwind()
                .await;
            match outcome {
                Ok(Some(reply)) => outbox.reply_frames(envelope, reply, &self.stalled).await,
                Ok(None) => {}
                Err(panic) => {
                    bump(&outbox.counters().dropped_incoming);
                    tracing::error!(
                        peer = peer_name(&envelope),
                        "raw handler panicked ({}); no reply",
                        panic_message(&*panic)
                    );
                }
            }
        }
    }
}
