//! [`RpcPlug`]: JSON requests with ids, completed by their replies.

mod pending;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::Backpressure;
use crate::connection::{start, Connection, Dispatch, Handle};
use crate::link::{Ending, InFlight, Link, LinkError, TrySend};
use crate::message::{Message, MessageKind, Messages};
use crate::protocol::{codes, encode_call, encode_request, Id, ReplyBody};
use crate::raw::attach_handler;
use crate::stats::{Counters, PlugStats};
use crate::{Error, Frame, PlugConfig, Reply};
use pending::{Ended, Pending};

/// An rpc plug: each request is a JSON object that gets an `id` from a
/// per-plug counter starting at 1, and ends in exactly one reply or one
/// error (PROTOCOL.md §5, §8.3).
///
/// ```no_run
/// # async fn demo() -> Result<(), plug::Error> {
/// use serde_json::json;
/// let boomerang = plug::PlugBuilder::new("boomerang")
///     .connect_to("tcp://127.0.0.1:9000")
///     .rpc()?;
/// let reply = boomerang.request(json!({"method": "getPlayers"})).await?;
/// let top_ten: Vec<String> = reply.result().as_array().into_iter().flatten()
///     .take(10)
///     .filter_map(|p| p.as_str().map(str::to_uppercase))
///     .collect();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RpcPlug {
    inner: Arc<Handle<RpcState>>,
}

pub(crate) struct RpcState {
    conn: Connection,
    pending: Arc<Pending>,
    next_id: AtomicU64,
    slots: Arc<Semaphore>,
}

impl Dispatch for RpcState {
    fn connection(&self) -> &Connection {
        &self.conn
    }

    async fn dispatch(&self, frames: Vec<Frame>) {
        if let Some(unmatched) = self.match_reply(frames) {
            Counters::bump(&self.conn.counters.unmatched);
            tracing::debug!(plug = self.conn.name(), kind = ?unmatched.kind(), "message for the message handler");
            self.conn.inbox.deliver(self.conn.name(), unmatched).await;
        }
    }

    fn on_close(&self) {
        self.pending.close_all();
    }
}

impl RpcState {
    /// Completes the request a reply belongs to, or returns the message for
    /// the message handler (PROTOCOL.md §7.2).
    fn match_reply(&self, frames: Vec<Frame>) -> Option<Message> {
        let mut body = match self.conn.config.envelope.unwrap(frames) {
            Ok(body) => body,
            Err(frames) => {
                return Some(Message::new(
                    frames,
                    MessageKind::Invalid("missing delimiter frame".into()),
                ))
            }
        };
        let bytes = match body.pop() {
            Some(frame) if body.is_empty() => frame.into_bytes(),
            popped => {
                body.extend(popped);
                let why = format!("reply has {} frames, expected 1", body.len());
                return Some(Message::new(body, MessageKind::Invalid(why)));
            }
        };
        // The frame moves into the reply rather than a clone of it (a clone
        // of a frame with one owner costs an allocation). A large body is
        // not kept by the reply: a clone of it, which shares its memory, is
        // kept here in case the message goes to the handler.
        let large = (bytes.len() > ReplyBody::LAZY_MAX).then(|| bytes.clone());
        let reply = match ReplyBody::read_or_return(bytes) {
            Ok(r) => r,
            Err((e, bytes)) => {
                let body = vec![Frame::from(bytes)];
                self.conn.log("in", None, &body);
                return Some(Message::new(body, MessageKind::Invalid(e.to_string())));
            }
        };
        // The body again, for a message that goes to the handler or a log.
        let body_of = |reply: &ReplyBody| large.clone().or_else(|| reply.kept_body().cloned());
        // `Ok(None)` for a result, `Ok(Some(error))` for an error reply.
        let checked = reply.outcome().map(Result::err);
        let (reply_id, reply) = reply.take_id();
        let Some(reply_id) = reply_id else {
            return Some(self.unmatched(body_of(&reply), MessageKind::Push));
        };
        let Some((id, slot)) = reply_id
            .as_u64()
            .and_then(|id| Some((id, self.pending.take(id)?)))
        else {
            let body = body_of(&reply);
            return Some(self.unmatched(body, MessageKind::UnknownId(reply_id)));
        };
        if self.conn.logging() {
            let body: Vec<Frame> = body_of(&reply).map(Frame::from).into_iter().collect();
            self.conn.log("in", Some(id), &body);
        }
        // A protocol violation does not keep its reply: its body is kept
        // here, for a caller that gave up in the meantime (below).
        let broken = checked.is_err().then(|| body_of(&reply)).flatten();
        let outcome = match checked {
            Ok(None) => Ok(Reply::new(reply_id, reply)),
            Ok(Some(error)) => Err(Error::Remote {
                error,
                reply: Box::new(Reply::new(reply_id, reply)),
            }),
            Err(error) => Err(Error::Protocol { id, error }),
        };
        // Counted before the caller wakes, so its next `stats()` includes it.
        Counters::bump(&self.conn.counters.replies);
        let Err(returned) = slot.send(Ended::Outcome(outcome)) else {
            return None;
        };
        // The caller gave up between `take` and now: the reply is late, and
        // goes to the handler like any unknown id.
        self.conn.counters.replies.fetch_sub(1, Ordering::Relaxed);
        let reply = match &*returned {
            Ended::Outcome(Ok(reply)) => Some(reply),
            Ended::Outcome(Err(Error::Remote { reply, .. })) => Some(&**reply),
            _ => None,
        };
        let body = match reply {
            Some(reply) => large.or_else(|| reply.kept_body().cloned()),
            None => broken,
        };
        let body = body.map(Frame::from).into_iter().collect();
        Some(Message::new(body, MessageKind::UnknownId(Id::from_u64(id))))
    }

    /// A one-frame message that is not a reply to a pending request, logged.
    fn unmatched(&self, body: Option<Bytes>, kind: MessageKind) -> Message {
        let body: Vec<Frame> = body.map(Frame::from).into_iter().collect();
        self.conn.log("in", None, &body);
        Message::new(body, kind)
    }
}

impl RpcPlug {
    /// Opens an rpc plug. Must be called inside a tokio runtime.
    pub fn open(config: PlugConfig) -> Result<RpcPlug, Error> {
        let slots = Arc::new(Semaphore::new(config.max_in_flight));
        let state = Arc::new(RpcState {
            conn: Connection::new(config)?,
            pending: Arc::new(Pending::default()),
            next_id: AtomicU64::new(1),
            slots,
        });
        start(&state)?;
        tokio::spawn(pending::expire(
            state.pending.clone(),
            state.conn.closed.clone(),
        ));
        Ok(RpcPlug {
            inner: Arc::new(Handle(state)),
        })
    }

    fn state(&self) -> &RpcState {
        &self.inner.0
    }

    /// The plug's name.
    pub fn name(&self) -> &str {
        self.state().conn.name()
    }

    /// Sends `request` (a JSON object) with a fresh `id` and waits for the
    /// reply with that id.
    ///
    /// Returns the whole reply object on success. An error reply is
    /// [`Error::Remote`]; no reply before the plug's timeout is
    /// [`Error::Timeout`]. Dropping the future forgets the request.
    pub async fn request(&self, request: impl Into<Value>) -> Result<Reply, Error> {
        let object = object_of(request.into(), "a request")?;
        self.roundtrip(|id| Ok(encode_request(object, Some(id))), 0)
            .await
    }

    /// Sends `{"method": method, "params": params}` with a fresh `id` and
    /// waits for the reply with that id, like [`RpcPlug::request`], with
    /// `params` written straight from any [`Serialize`] value: no JSON
    /// object is built first.
    ///
    /// ```no_run
    /// # async fn demo(plug: plug::RpcPlug) -> Result<(), plug::Error> {
    /// let reply = plug.call("echo", "hi").await?;
    /// assert_eq!(reply.result(), "hi");
    /// # Ok(()) }
    /// ```
    ///
    /// `params` that do not serialize as JSON (a map whose keys are not
    /// strings, say) are [`Error::InvalidRequest`], and nothing is sent.
    pub async fn call<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<Reply, Error> {
        let encode = |id| {
            encode_call(method, params, id)
                .map_err(|e| Error::InvalidRequest(format!("params do not serialize: {e}")))
        };
        self.roundtrip(encode, 0).await
    }

    /// Like [`RpcPlug::request`] for a request that is safe to run
    /// twice: after a timeout it is sent again, with the same id, up to the
    /// plug's `retries` times, waiting `retry_backoff_ms` (doubled each time)
    /// in between. A reply to any attempt completes it; a second reply goes
    /// to the message handler as an unknown id.
    pub async fn request_idempotent(&self, request: impl Into<Value>) -> Result<Reply, Error> {
        let retries = self.state().conn.config.retries;
        let object = object_of(request.into(), "a request")?;
        self.roundtrip(|id| Ok(encode_request(object, Some(id))), retries)
            .await
    }

    /// Sends the body `encode` writes for a fresh id and waits for its
    /// reply, sending it again up to `retries` times after a timeout.
    async fn roundtrip(
        &self,
        encode: impl FnOnce(u64) -> Result<Vec<u8>, Error>,
        retries: u32,
    ) -> Result<Reply, Error> {
        let state = self.state();
        let conn = &state.conn;
        if conn.is_closed() {
            return Err(Error::Closed);
        }
        let timeout = conn.config.timeout;
        let mut deadline = Instant::now() + timeout;
        let timed_out = |id| {
            Counters::bump(&conn.counters.timeouts);
            Error::Timeout { id, after: timeout }
        };

        let _slot = match conn.config.backpressure {
            Backpressure::Fail => {
                state
                    .slots
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| Error::Busy {
                        limit: conn.config.max_in_flight,
                    })?
            }
            // The waits below are boxed: they are rare, and inline they
            // would make every request's future larger (past glibc's
            // small-allocation sizes, for a caller that boxes or spawns it).
            Backpressure::Wait => match state.slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    let wait =
                        tokio::time::timeout_at(deadline, state.slots.clone().acquire_owned());
                    match Box::pin(wait).await {
                        Ok(permit) => permit.map_err(|_| Error::Closed)?,
                        Err(_) => return Err(timed_out(None)),
                    }
                }
            },
        };

        let id = state.next_id.fetch_add(1, Ordering::Relaxed);
        // One buffer for every attempt: a frame shares it.
        let body = Frame::from(encode(id)?);
        // A request with no retries is told of its deadline by the plug's
        // deadline task, with no timer of its own; one with retries keeps
        // its entry across attempts, and times each wait itself.
        let expires = (retries == 0).then_some(deadline);
        let mut entry = state.pending.insert(id, expires);
        let mut backoff = conn.config.retry_backoff;
        let mut attempt = 0;
        let mut avoid: Option<Arc<Link>> = None;
        let mut ever_sent = false;
        loop {
            let last = attempt == retries;
            // No link up before the deadline counts as an attempt that did
            // not leave: a retry may still find one.
            let mut tried = None;
            let picked = match conn.links.pick(avoid.as_deref()) {
                Some(link) => Some(link),
                None => Box::pin(conn.links.pick_until(deadline, avoid.as_deref())).await,
            };
            if let Some(link) = picked {
                let in_flight = InFlight::new(link.clone());
                let received_before = link.health.received.load(Ordering::Relaxed);
                conn.log("out", Some(id), std::slice::from_ref(&body));
                let wire = conn.config.envelope.frames(body.clone());
                let lone = link.health.in_flight.load(Ordering::Relaxed) == 1;
                let sending = match link.try_send(wire, lone) {
                    Ok(()) => Ok(Ok(())),
                    Err(TrySend::Later(wire)) => {
                        Box::pin(tokio::time::timeout_at(deadline, link.send(wire))).await
                    }
                    Err(TrySend::Failed(e)) => Ok(Err(e)),
                };
                let sent = match sending {
                    Ok(Ok(())) => {
                        Counters::bump(&conn.counters.sent);
                        true
                    }
                    // The link went down under us: the request never left,
                    // so it may go to the next link at once.
                    Ok(Err(LinkError::Down)) => continue,
                    Ok(Err(LinkError::Transport(e))) => return Err(Error::Transport(e)),
                    Err(_) => false,
                };
                ever_sent |= sent;
                if sent {
                    let ended = if expires.is_some() {
                        entry.ended().await
                    } else {
                        Box::pin(tokio::time::timeout_at(deadline, entry.ended()))
                            .await
                            .unwrap_or(Ended::Expired)
                    };
                    match ended {
                        Ended::Outcome(outcome) => {
                            link.health.ended(ending(&outcome));
                            if !not_run(&outcome) {
                                return outcome;
                            }
                            // The server is shutting down and did not run
                            // the request (PROTOCOL.md §8.5): no new requests
                            // go there, and this one goes elsewhere.
                            link.drain();
                            avoid = Some(link);
                            drop(entry);
                            entry = state.pending.insert(id, expires);
                            continue;
                        }
                        Ended::Expired => link.health.ended(Ending::Timeout { received_before }),
                    }
                }
                drop(in_flight);
                tried = Some(link);
            }
            if last {
                return Err(timed_out(ever_sent.then_some(id)));
            }
            attempt += 1;
            Counters::bump(&conn.counters.retries);
            tracing::info!(
                plug = conn.name(),
                id,
                attempt,
                "no reply in time; sending again"
            );
            // A reply to the earlier attempt may still arrive while we wait.
            match Box::pin(tokio::time::timeout(backoff, entry.ended())).await {
                Ok(Ended::Outcome(outcome)) => return outcome,
                Ok(Ended::Expired) => unreachable!("registered with no deadline"),
                Err(_) => {}
            }
            // The next attempt goes to another endpoint if there is one.
            if tried.is_some() {
                avoid = tried;
            }
            backoff = backoff.saturating_mul(2);
            deadline = Instant::now() + timeout;
        }
    }

    /// Sends `request` and calls `callback` with the outcome, like the seed's
    /// `send(obj, cb)`. Must be called inside a tokio runtime.
    pub fn send<F>(&self, request: impl Into<Value>, callback: F)
    where
        F: FnOnce(Result<Reply, Error>) + Send + 'static,
    {
        let plug = self.clone();
        let request = request.into();
        tokio::spawn(async move { callback(plug.request(request).await) });
    }

    /// Sends `notification` with no `id`: the server does not reply
    /// (PROTOCOL.md §5.4).
    pub async fn notify(&self, notification: impl Into<Value>) -> Result<(), Error> {
        let conn = &self.state().conn;
        let object = object_of(notification.into(), "a notification")?;
        conn.send_message(vec![Frame::from(encode_request(object, None))])
            .await
    }

    /// Messages that are not replies to a pending request: server pushes,
    /// unknown or late ids, invalid replies. Only one consumer can take them.
    pub fn messages(&self) -> Option<Messages> {
        self.state().conn.inbox.take()
    }

    /// Calls `handler` for every message that is not a reply to a pending
    /// request. Returns `false` if a consumer was already attached.
    pub fn on_message<F>(&self, handler: F) -> bool
    where
        F: FnMut(Message) + Send + 'static,
    {
        attach_handler(&self.state().conn, handler)
    }

    /// The plug's counters.
    pub fn stats(&self) -> PlugStats {
        let s = self.state();
        s.conn.stats(s.pending.len() as u64)
    }

    /// Closes the plug: pending requests end with [`Error::Closed`].
    pub fn close(&self) {
        self.state().conn.close();
        self.state().pending.close_all();
    }
}

impl std::fmt::Debug for RpcPlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcPlug")
            .field("name", &self.name())
            .field("connect_to", &self.state().conn.config.connect_to)
            .finish()
    }
}

/// The object `what` (a request, a notification) must be.
fn object_of(value: Value, what: &str) -> Result<Map<String, Value>, Error> {
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(Error::InvalidRequest(format!(
            "{what} must be a JSON object"
        ))),
    }
}

/// What a request's outcome counts as on its link.
fn ending(outcome: &Result<Reply, Error>) -> Ending {
    match outcome {
        Ok(_) => Ending::Ok,
        Err(Error::Remote { .. } | Error::Protocol { .. }) => Ending::Error,
        Err(_) => Ending::Other,
    }
}

/// Whether the server refused the request without running it because it
/// is shutting down (-32003, PROTOCOL.md §8.5).
fn not_run(outcome: &Result<Reply, Error>) -> bool {
    matches!(outcome, Err(Error::Remote { error, .. }) if error.code == codes::SHUTTING_DOWN)
}
