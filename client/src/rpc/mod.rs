//! [`RpcPlug`]: JSON requests with ids, completed by their replies.

mod pending;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::Backpressure;
use crate::connection::{spawn_reader, Connection, Dispatch, Handle};
use crate::message::{Message, MessageKind, Messages};
use crate::protocol::{encode_request, ReplyBody};
use crate::raw::attach_handler;
use crate::stats::{Counters, PlugStats};
use crate::{Error, Frame, PlugConfig, Reply};
use pending::Pending;

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
        let body = match self.conn.config.envelope.unwrap(frames) {
            Ok(body) => body,
            Err(frames) => {
                return Some(Message::new(
                    frames,
                    MessageKind::Invalid("missing delimiter frame".into()),
                ))
            }
        };
        if body.len() != 1 {
            let why = format!("reply has {} frames, expected 1", body.len());
            return Some(Message::new(body, MessageKind::Invalid(why)));
        }
        let reply = match ReplyBody::parse(&body[0]) {
            Ok(r) => r,
            Err(e) => {
                self.conn.log("in", None, &body);
                return Some(Message::new(body, MessageKind::Invalid(e.to_string())));
            }
        };
        let (id, slot) = match reply
            .counter_id()
            .and_then(|id| Some((id, self.pending.take(id)?)))
        {
            Some(found) => found,
            None => {
                self.conn.log("in", None, &body);
                let kind = match reply.id() {
                    None => MessageKind::Push,
                    Some(id) => MessageKind::UnknownId(id.clone()),
                };
                return Some(Message::new(body, kind));
            }
        };
        self.conn.log("in", Some(id), &body);
        let outcome = match reply.outcome() {
            Ok(Ok(_)) => Ok(Reply::new(reply)),
            Ok(Err(error)) => Err(Error::Remote {
                error,
                reply: Box::new(Reply::new(reply)),
            }),
            Err(error) => Err(Error::Protocol { id, error }),
        };
        // Counted before the caller wakes, so its next `stats()` includes it.
        Counters::bump(&self.conn.counters.replies);
        if slot.send(outcome).is_ok() {
            None
        } else {
            // The caller gave up between `take` and now: the reply is late,
            // and goes to the handler like any unknown id.
            self.conn.counters.replies.fetch_sub(1, Ordering::Relaxed);
            Some(Message::new(body, MessageKind::UnknownId(Value::from(id))))
        }
    }
}

impl RpcPlug {
    /// Opens an rpc plug. Must be called inside a tokio runtime.
    pub fn open(config: PlugConfig) -> Result<RpcPlug, Error> {
        let slots = Arc::new(Semaphore::new(config.max_in_flight));
        let state = Arc::new(RpcState {
            conn: Connection::open(config)?,
            pending: Arc::new(Pending::default()),
            next_id: AtomicU64::new(1),
            slots,
        });
        spawn_reader(state.clone());
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
        self.call(request.into(), 0).await
    }

    /// Like [`RpcPlug::request`] for a request that is safe to run
    /// twice: after a timeout it is sent again, with the same id, up to the
    /// plug's `retries` times, waiting `retry_backoff_ms` (doubled each time)
    /// in between. A reply to any attempt completes it; a second reply goes
    /// to the message handler as an unknown id.
    pub async fn request_idempotent(&self, request: impl Into<Value>) -> Result<Reply, Error> {
        let retries = self.state().conn.config.retries;
        self.call(request.into(), retries).await
    }

    async fn call(&self, request: Value, retries: u32) -> Result<Reply, Error> {
        let state = self.state();
        let conn = &state.conn;
        let Value::Object(object) = request else {
            return Err(Error::InvalidRequest(
                "a request must be a JSON object".into(),
            ));
        };
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
            Backpressure::Wait => {
                match tokio::time::timeout_at(deadline, state.slots.clone().acquire_owned()).await {
                    Ok(permit) => permit.map_err(|_| Error::Closed)?,
                    Err(_) => return Err(timed_out(None)),
                }
            }
        };

        let id = state.next_id.fetch_add(1, Ordering::Relaxed);
        let mut bytes = encode_request(object, Some(id));
        let (mut reply, _entry) = state.pending.insert(id);
        let mut backoff = conn.config.retry_backoff;
        let mut attempt = 0;
        loop {
            let last = attempt == retries;
            // The last attempt hands its buffer over; earlier ones copy it.
            let body = if last {
                vec![Frame::from(std::mem::take(&mut bytes))]
            } else {
                vec![Frame::copy_from(&bytes)]
            };
            conn.log("out", Some(id), &body);
            let wire = conn.config.envelope.wrap(body);
            let sent = match tokio::time::timeout_at(deadline, conn.socket.send(wire)).await {
                Ok(Ok(())) => {
                    Counters::bump(&conn.counters.sent);
                    true
                }
                Ok(Err(e)) => return Err(Error::Transport(e.into())),
                Err(_) => false,
            };
            if sent {
                match tokio::time::timeout_at(deadline, &mut reply).await {
                    Ok(Ok(outcome)) => return outcome,
                    Ok(Err(_)) => return Err(Error::Closed),
                    Err(_) => {}
                }
            }
            if last {
                return Err(timed_out(sent.then_some(id)));
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
            if let Ok(outcome) = tokio::time::timeout(backoff, &mut reply).await {
                return outcome.unwrap_or(Err(Error::Closed));
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
        let Value::Object(object) = notification.into() else {
            return Err(Error::InvalidRequest(
                "a notification must be a JSON object".into(),
            ));
        };
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
