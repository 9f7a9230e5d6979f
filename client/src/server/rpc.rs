//! The rpc-mode serving loop (PROTOCOL.md §5).
//!
//! One task receives, and runs each request's handler right there until
//! it first has to wait: a handler that answers at once (an echo, a lookup)
//! costs no task and no thread wake-up. A request that waits (a timer, a
//! database, a full peer queue) moves to a task of its own, so replies go
//! out in whatever order handlers finish (§5.6) and a slow request or a
//! peer whose queue is full delays only its own replies.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;
use tracing::Instrument;

use crate::protocol::{
    encode_error, encode_result, parse_request, peek_id, ErrorObject, Id, Peeked, Routed,
};
use crate::socket::AsyncSocket;
use crate::Frame;

use super::handler::panic_message;
use super::outbox::peer_name;
use super::peers::{Load, PeerLoad};
use super::shutdown::{Active, Tracker};
use super::stats::{bump, Counters};
use super::{Call, Handler, Outbox, ServerConfig, ServerError, Stats};

/// Serves rpc-mode requests on a bound ROUTER socket until
/// `shutdown` completes, then stops receiving, lets the requests in flight
/// finish (up to [`ServerConfig::drain_timeout`]) and returns what it did.
///
/// Bad requests get the error replies of PROTOCOL.md §5.5, notifications
/// get no reply, and the limits of `config` are enforced (§8).
///
/// The loop runs in a task of its own on the current runtime, hence the
/// `Send + 'static` bound on `shutdown`; dropping the returned future stops
/// it like any other.
///
/// # Examples
///
/// ```no_run
/// use plug::server::{self, Methods, ServerConfig};
/// use serde_json::{json, Value};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (socket, endpoint) = server::bind("tcp://127.0.0.1:*")?;
/// println!("listening on {endpoint}");
/// let methods = Methods::new().method("ping", |_: Value| async { Ok(json!("pong")) });
/// let stats = server::run_rpc(socket, methods, ServerConfig::rpc(), server::shutdown_signal()).await?;
/// eprintln!("{stats}");
/// # Ok(()) }
/// ```
pub async fn run_rpc<H: Handler>(
    socket: AsyncSocket,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stats, ServerError> {
    super::serve_in_task(serve_rpc(socket, handler, config, shutdown)).await
}

async fn serve_rpc<H: Handler>(
    socket: AsyncSocket,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, ServerError> {
    let counters = Arc::new(Counters::default());
    let outbox = Outbox::new(Arc::new(socket), counters.clone(), config.send_timeout);
    let handler = Arc::new(handler);
    let tracker = Tracker::default();
    let peers = PeerLoad::default();
    let config = Arc::new(config);
    tokio::pin!(shutdown);
    while let Some(routed) = outbox.receive(shutdown.as_mut()).await? {
        let (load, before) = peers.acquire(routed.envelope.identity().map_or(&[][..], |f| f));
        if before >= config.max_in_flight {
            // Answered right here, without a task, so a flood costs no
            // memory: the reply waits in the peer's zmq queue or, if even
            // that is full, is dropped with a warning.
            drop(load);
            answer_overloaded(routed, &config, &outbox, &counters);
            continue;
        }
        let job = Job {
            routed,
            outbox: outbox.clone(),
            config: config.clone(),
            counters: counters.clone(),
            _load: load,
            _active: tracker.start(),
        };
        let mut job = Box::pin(job.run(handler.clone()));
        if futures_util::poll!(job.as_mut()).is_pending() {
            // Polled again by its own task, which then owns its wake-ups.
            tokio::spawn(job);
        }
        // A steady stream of requests that never waits must still let the
        // other tasks of this thread run now and then.
        tokio::task::consume_budget().await;
    }
    tracker.drain(config.drain_timeout, "requests").await;
    let stats = counters.snapshot();
    tracing::info!("server stopped: {stats}");
    Ok(stats)
}

/// One received request: handled on the receiving task until it waits,
/// then in a task of its own.
struct Job {
    routed: Routed,
    outbox: Outbox,
    config: Arc<ServerConfig>,
    counters: Arc<Counters>,
    // Released when the reply has been handed over (or dropped).
    _load: Load,
    _active: Active,
}

impl Job {
    async fn run<H: Handler>(self, handler: Arc<H>) {
        let span = tracing::debug_span!("request", peer = peer_name(&self.routed.envelope));
        self.handle(handler).instrument(span).await
    }

    async fn handle<H: Handler>(self, handler: Arc<H>) {
        let Routed { envelope, body } = self.routed;
        let size: usize = body.iter().map(|f| f.len()).sum();
        let limit = self.config.max_message_bytes;
        if size > limit {
            let error = ErrorObject::too_large(size, limit);
            if let Some(reply) = early_reply(&body, &error, &self.counters) {
                self.outbox.reply(envelope, reply, true).await;
            }
            return;
        }
        let request = match parse_request(&body) {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(code = error.code, "bad request: {}", error.message);
                let reply = encode_error(None, false, &error);
                self.outbox.reply(envelope, Frame::from(reply), true).await;
                return;
            }
        };
        drop(body);
        let id = request.id.clone();
        let jsonrpc = request.is_jsonrpc();
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(
                id = id.as_ref().map(Id::json),
                "request: {}",
                truncated(&request.object)
            );
        }
        let call = Call {
            request,
            envelope: envelope.clone(),
            outbox: self.outbox.clone(),
        };
        // `call` itself inside the caught future too: a handler may panic
        // before it returns its future, and on this task a panic that got
        // out would stop the whole serving loop.
        let outcome = std::panic::AssertUnwindSafe(async { handler.call(call).await })
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let what = panic_message(&*panic);
                tracing::error!("handler panicked: {what}");
                Err(ErrorObject::internal(what))
            });
        let Some(id) = id else {
            bump(&self.counters.notifications);
            if let Err(e) = outcome {
                tracing::debug!("notification failed (no reply is sent): {e}");
            }
            return;
        };
        let (reply, is_error) = match &outcome {
            Ok(result) => (encode_result(Some(&id), jsonrpc, result), false),
            Err(error) => {
                tracing::debug!(
                    id = id.json(),
                    code = error.code,
                    "error reply: {}",
                    error.message
                );
                (encode_error(Some(&id), jsonrpc, error), true)
            }
        };
        self.outbox
            .reply(envelope, Frame::from(reply), is_error)
            .await;
    }
}

/// The -32002 reply to a request over the peer's limit (§8.2), sent only if
/// the peer's queue has room now.
fn answer_overloaded(routed: Routed, config: &ServerConfig, outbox: &Outbox, counters: &Counters) {
    let Routed { envelope, body } = routed;
    let size: usize = body.iter().map(|f| f.len()).sum();
    let error = if size > config.max_message_bytes {
        ErrorObject::too_large(size, config.max_message_bytes)
    } else {
        ErrorObject::overloaded(config.max_in_flight)
    };
    if let Some(reply) = early_reply(&body, &error, counters) {
        outbox.try_reply(envelope, reply);
    }
}

/// The error reply to a request that is not parsed in full, or `None` for
/// a notification.
fn early_reply(body: &[Frame], error: &ErrorObject, counters: &Counters) -> Option<Frame> {
    match peek_id(body) {
        Peeked::Notification => {
            bump(&counters.notifications);
            None
        }
        Peeked::Id(id, jsonrpc) => {
            tracing::debug!(code = error.code, "{}", error.message);
            Some(Frame::from(encode_error(id.as_ref(), jsonrpc, error)))
        }
    }
}

fn truncated(object: &serde_json::Map<String, Value>) -> String {
    let mut s = serde_json::to_string(object).unwrap_or_default();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}
