//! The raw-mode serving loop (PROTOCOL.md §4).
//!
//! Each peer gets a queue and a task that handles its messages one at a
//! time, so one peer's replies keep the order of its messages (§4.3) while
//! a slow or full peer holds up nobody else.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::protocol::{Envelope, Routed};
use crate::{AsyncSocket, Frame};

use super::outbox::peer_name;
use super::shutdown::{Active, Tracker};
use super::stats::{bump, Counters};
use super::{Outbox, ServerConfig, ServerError, Stats};

/// How long a peer's task waits for another message before it ends.
const PEER_IDLE: Duration = Duration::from_secs(5);

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

type Queues = Arc<Mutex<HashMap<Vec<u8>, mpsc::Sender<Item>>>>;

/// Serves raw messages on a bound ROUTER socket until `shutdown` completes,
/// then stops receiving, lets queued messages be answered (up to
/// [`ServerConfig::drain_timeout`]) and returns what it did.
///
/// A message larger than [`ServerConfig::max_message_bytes`], or one that
/// finds its peer's queue ([`ServerConfig::max_in_flight`]) full, is dropped
/// with a warning and counted: raw mode has no error reply.
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
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, ServerError> {
    let counters = Arc::new(Counters::default());
    let outbox = Outbox::new(Arc::new(socket), counters.clone(), config.send_timeout);
    let handler = Arc::new(handler);
    let tracker = Tracker::default();
    let queues: Queues = Arc::default();
    tokio::pin!(shutdown);
    loop {
        let frames = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            m = outbox.socket().recv() => match m {
                Ok(m) => m,
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(ServerError::Recv(e)),
            },
        };
        bump(&counters.received);
        let routed = Routed::split(frames, true);
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
        let mut map = queues.lock().unwrap_or_else(|p| p.into_inner());
        let tx = map.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(config.max_in_flight);
            tokio::spawn(serve_peer(
                key,
                rx,
                queues.clone(),
                handler.clone(),
                outbox.clone(),
            ));
            tx
        });
        if let Err(e) = tx.try_send(item) {
            let item = e.into_inner();
            bump(&counters.dropped_incoming);
            tracing::warn!(
                peer = peer_name(&item.routed.envelope),
                "message dropped: the peer already has {} messages waiting",
                config.max_in_flight
            );
        }
    }
    // Without senders, each peer task ends once its queue is empty.
    queues.lock().unwrap_or_else(|p| p.into_inner()).clear();
    tracing::info!(
        in_flight = tracker.active(),
        "shutting down: no new messages; answering those queued"
    );
    if tokio::time::timeout(config.drain_timeout, tracker.idle())
        .await
        .is_err()
    {
        tracing::warn!(
            in_flight = tracker.active(),
            "drain timeout of {:?} passed; returning with messages unanswered",
            config.drain_timeout
        );
    }
    let stats = counters.snapshot();
    tracing::info!("server stopped: {stats}");
    Ok(stats)
}

async fn serve_peer<H: RawHandler>(
    key: Vec<u8>,
    mut rx: mpsc::Receiver<Item>,
    queues: Queues,
    handler: Arc<H>,
    outbox: Outbox,
) {
    loop {
        let item = match tokio::time::timeout(PEER_IDLE, rx.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => return,
            Err(_) => {
                // The receiving loop only enqueues under this lock, so an
                // empty queue here stays empty until the entry is gone.
                let mut map = queues.lock().unwrap_or_else(|p| p.into_inner());
                if rx.is_empty() {
                    map.remove(&key);
                    return;
                }
                continue;
            }
        };
        let Item { routed, _active } = item;
        let Routed { envelope, body } = routed;
        if let Some(reply) = handler.call(&envelope, body).await {
            outbox.reply_frames(envelope, reply).await;
        }
    }
}
