//! The rpc-mode serving loop (PROTOCOL.md §5).
//!
//! A request's handler runs right where the request was received until it
//! first has to wait: a handler that answers at once (an echo, a lookup)
//! costs no task and no thread wake-up. A request that waits (a timer, a
//! database, a full peer queue) moves to a task of its own, so replies go
//! out in whatever order handlers finish (§5.6) and a slow request or a
//! peer whose queue is full delays only its own replies.
//!
//! [`answer`] is that work from request to reply, shared by both
//! transports; this file also has the libzmq loop (one task receives from
//! the ROUTER socket), and `native` the per-connection tasks.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;
use tracing::Instrument;

use crate::protocol::{
    encode_error, encode_result, peek_id, read_request, Envelope, ErrorObject, Id, Peeked, Routed,
};
use crate::socket::AsyncSocket;
use crate::Frame;

use super::bind::{Bound, Listener};
use super::handler::panic_message;
use super::outbox::peer_name;
use super::peers::PeerLoad;
use super::receive::receive;
use super::stats::{bump, Counters};
use super::{Call, Handler, Outbox, ServerConfig, ServerError, Stats};

/// Serves rpc-mode requests on a bound [`Listener`] until `shutdown`
/// completes, then drains: requests that arrive are answered -32003 (not
/// run, PROTOCOL.md §8.5) so that plugs send them to another server, the
/// requests in flight finish, and the loop returns what it did once they
/// have and no request has come for a moment, or after
/// [`ServerConfig::drain_timeout`] at the latest.
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
/// let (listener, endpoint) = server::bind("tcp://127.0.0.1:*")?;
/// println!("listening on {endpoint}");
/// let methods = Methods::new().method("ping", |_: Value| async { Ok(json!("pong")) });
/// let stats = server::run_rpc(listener, methods, ServerConfig::rpc(), server::shutdown_signal()).await?;
/// eprintln!("{stats}");
/// # Ok(()) }
/// ```
pub async fn run_rpc<H: Handler>(
    listener: Listener,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stats, ServerError> {
    match listener.inner {
        Bound::Zmq(socket) => {
            super::serve_in_task(serve_zmq(socket, handler, config, shutdown)).await
        }
        Bound::Native {
            listener,
            queue_limit,
        } => {
            super::serve_in_task(super::native::serve_rpc(
                listener,
                queue_limit,
                handler,
                config,
                shutdown,
            ))
            .await
        }
    }
}

/// A reply ready to go, with the envelope it goes back in.
pub(super) struct Answer {
    pub envelope: Envelope,
    pub body: Frame,
    pub is_error: bool,
}

/// From a received request to its reply (`None` for a notification):
/// size check, parsing, the handler (a panic is -32603), the reply's
/// encoding with the request's exact id.
///
/// The future is boxed for each request that reaches a handler, so it is
/// kept small: no async layer of its own around `answer_in_span`, and only
/// the handler's future, the envelope and the id live across its wait.
pub(super) fn answer<H: Handler>(
    routed: Routed,
    handler: Arc<H>,
    outbox: Outbox,
    config: Arc<ServerConfig>,
) -> impl Future<Output = Option<Answer>> + Send {
    let span = tracing::debug_span!("request", peer = peer_name(&routed.envelope));
    answer_in_span(routed, handler, outbox, config).instrument(span)
}

async fn answer_in_span<H: Handler>(
    routed: Routed,
    handler: Arc<H>,
    outbox: Outbox,
    config: Arc<ServerConfig>,
) -> Option<Answer> {
    // Everything up to the handler's call is in a block of its own, so
    // that the request and the call are gone before the wait (a local that
    // is still in scope there takes room in the future even once moved).
    let (envelope, id, jsonrpc, counters_outbox, started) = {
        let Routed { envelope, body } = routed;
        let size: usize = body.iter().map(|f| f.len()).sum();
        let limit = config.max_message_bytes;
        if size > limit {
            let error = ErrorObject::too_large(size, limit);
            let body = early_reply(&body, &error, outbox.counters())?;
            return Some(Answer {
                envelope,
                body,
                is_error: true,
            });
        }
        let request = match read_request(body) {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(code = error.code, "bad request: {}", error.message);
                let reply = encode_error(None, false, &error);
                return Some(Answer {
                    envelope,
                    body: Frame::from(reply),
                    is_error: true,
                });
            }
        };
        let id = request.id().cloned();
        let jsonrpc = request.is_jsonrpc();
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(
                id = id.as_ref().map(Id::json),
                "request: {}",
                truncated(request.object())
            );
        }
        let counters_outbox = outbox.clone();
        let call = Call {
            request,
            envelope: envelope.clone(),
            outbox,
        };
        // A handler may panic when called, before it returns its future,
        // or while its future runs; where it runs inline a panic that got
        // out would stop the whole serving loop or connection.
        let started = std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(call)));
        (envelope, id, jsonrpc, counters_outbox, started)
    };
    let outcome = match started {
        Ok(running) => AssertUnwindSafe(running)
            .catch_unwind()
            .await
            .unwrap_or_else(panicked),
        Err(panic) => panicked(panic),
    };
    let Some(id) = id else {
        bump(&counters_outbox.counters().notifications);
        if let Err(e) = outcome {
            tracing::debug!("notification failed (no reply is sent): {e}");
        }
        return None;
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
    Some(Answer {
        envelope,
        body: Frame::from(reply),
        is_error,
    })
}

/// A handler's panic, as its -32603 error.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Result<Value, ErrorObject> {
    let what = panic_message(&*panic);
    tracing::error!("handler panicked: {what}");
    Err(ErrorObject::internal(what))
}

/// The reply to a request the server will not run: -32001 when it is too
/// large, else `error` (-32002 past the peer's limit, -32003 while
/// draining). `None` for a notification.
pub(super) fn refuse(
    routed: Routed,
    error: ErrorObject,
    config: &ServerConfig,
    counters: &Counters,
) -> Option<Answer> {
    let Routed { envelope, body } = routed;
    let size: usize = body.iter().map(|f| f.len()).sum();
    let error = if size > config.max_message_bytes {
        ErrorObject::too_large(size, config.max_message_bytes)
    } else {
        error
    };
    let body = early_reply(&body, &error, counters)?;
    Some(Answer {
        envelope,
        body,
        is_error: true,
    })
}

/// The libzmq loop: one task receives from the ROUTER socket and answers.
async fn serve_zmq<H: Handler>(
    socket: AsyncSocket,
    handler: H,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, ServerError> {
    let counters = Arc::new(Counters::default());
    let socket = Arc::new(socket);
    let outbox = Outbox::zmq(socket.clone(), counters.clone(), config.send_timeout);
    let handler = Arc::new(handler);
    let tracker = tokio_util::task::TaskTracker::new();
    let peers = PeerLoad::default();
    let config = Arc::new(config);
    tokio::pin!(shutdown);
    while let Some(routed) = receive(&socket, &counters, shutdown.as_mut()).await? {
        let (load, before) = peers.acquire(routed.envelope.identity().map_or(&[][..], |f| f));
        if before >= config.max_in_flight {
            // Answered right here, without running the request. The -32002
            // goes out at once when the peer's queue has room; when it is
            // full (a peer that sends a burst before it reads), it waits for
            // room like any reply, in a task of its own: a refusal dropped
            // here would leave the request with no answer at all (§8.2).
            drop(load);
            let error = ErrorObject::overloaded(config.max_in_flight);
            if let Some(a) = refuse(routed, error, &config, &counters) {
                let replying = outbox.clone();
                let mut send =
                    Box::pin(tracker.track_future(async move {
                        replying.reply(a.envelope, a.body, true).await
                    }));
                if futures_util::poll!(send.as_mut()).is_pending() {
                    tokio::spawn(send);
                }
            }
            continue;
        }
        let answering = answer(routed, handler.clone(), outbox.clone(), config.clone());
        let replying = outbox.clone();
        let mut job = Box::pin(tracker.track_future(async move {
            let _load = load;
            if let Some(a) = answering.await {
                replying.reply(a.envelope, a.body, a.is_error).await;
            }
        }));
        if futures_util::poll!(job.as_mut()).is_pending() {
            // Polled again by its own task, which then owns its wake-ups.
            tokio::spawn(job);
        }
        // A steady stream of requests that never waits must still let the
        // other tasks of this thread run now and then.
        tokio::task::consume_budget().await;
    }
    super::drain::zmq(&socket, &counters, &tracker, &config, |routed| {
        if let Some(a) = refuse(routed, ErrorObject::shutting_down(), &config, &counters) {
            outbox.try_reply(a.envelope, a.body);
        }
    })
    .await;
    let stats = counters.snapshot();
    tracing::info!("server stopped: {stats}");
    Ok(stats)
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
