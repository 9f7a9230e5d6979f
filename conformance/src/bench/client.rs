//! One benchmark connection: a plug that turns "send request `seq`" into
//! one [`Outcome`], for either profile.
//!
//! rpc: an rpc plug sends `{"method":"echo","params":"xxx…"}` and the
//! plug matches the reply by id. raw: a raw plug sends `size` bytes whose
//! first 8 carry a sequence number; the echo brings them back and a reader
//! task completes the waiting request with that number. Either way every
//! request ends in exactly one outcome, bounded by the timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plug::{Error, Frame, PlugBuilder, RawPlug, RpcPlug};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::case::Profile;

/// How one request ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The expected reply, in time.
    Ok,
    /// A reply that is wrong, an error reply, or a transport failure.
    Error(String),
    /// No reply within the timeout.
    Timeout,
}

/// A connection of the benchmark.
#[derive(Clone)]
pub(crate) enum Client {
    Rpc {
        plug: RpcPlug,
        params: Arc<Value>,
        size: usize,
    },
    Raw(Arc<RawConn>),
}

impl Client {
    /// Opens one connection to `endpoint`. Must run inside the runtime.
    pub(crate) fn open(
        endpoint: &str,
        profile: Profile,
        size: usize,
        timeout: Duration,
        in_flight: usize,
    ) -> Result<Client, Error> {
        let builder = PlugBuilder::new("bench")
            .connect_to(endpoint)
            .timeout(timeout)
            .max_in_flight(in_flight.max(1))
            // Room for every request in flight, so libzmq never drops or blocks
            // below the window the user asked for.
            .high_water_mark(i32::try_from(in_flight.saturating_mul(2).max(1000)).unwrap_or(0));
        Ok(match profile {
            Profile::Rpc => Client::Rpc {
                plug: builder.rpc()?,
                params: Arc::new(Value::String("x".repeat(size))),
                size,
            },
            Profile::Raw => Client::Raw(RawConn::open(builder.raw()?, size)),
        })
    }

    /// Sends request `seq` and waits for its outcome, at most `timeout`:
    /// the plug ends every request by its timeout (rpc), the raw waiter by
    /// the same deadline.
    pub(crate) async fn call(&self, seq: u64, timeout: Duration) -> Outcome {
        match self {
            Client::Rpc { plug, params, size } => {
                let request = json!({"method": "echo", "params": &**params});
                match plug.request(request).await {
                    Ok(reply) => match reply.result().as_str() {
                        Some(s) if s.len() == *size => Outcome::Ok,
                        _ => Outcome::Error(format!(
                            "echo result is not the {size}-byte string sent"
                        )),
                    },
                    Err(Error::Timeout { .. }) => Outcome::Timeout,
                    Err(e) => Outcome::Error(e.to_string()),
                }
            }
            Client::Raw(conn) => conn.call(seq, timeout).await,
        }
    }

    /// Closes the connection.
    pub(crate) fn close(&self) {
        match self {
            Client::Rpc { plug, .. } => plug.close(),
            Client::Raw(conn) => conn.plug.close(),
        }
    }
}

type Waiter = oneshot::Sender<Result<(), String>>;

/// A raw plug with requests matched to echoes by sequence number.
pub(crate) struct RawConn {
    plug: RawPlug,
    size: usize,
    pending: Mutex<HashMap<u64, Waiter>>,
    late: AtomicU64,
}

impl RawConn {
    fn open(plug: RawPlug, size: usize) -> Arc<RawConn> {
        let mut messages = plug.messages().expect("a new plug has its stream");
        let conn = Arc::new(RawConn {
            plug,
            size,
            pending: Mutex::new(HashMap::new()),
            late: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&conn);
        tokio::spawn(async move {
            while let Some(msg) = messages.recv().await {
                let Some(conn) = weak.upgrade() else { break };
                conn.on_echo(msg.frames());
            }
        });
        conn
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiter>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn on_echo(&self, frames: &[Frame]) {
        let Some(seq) = frames
            .first()
            .and_then(|f| f.get(..8))
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        else {
            self.late.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let Some(waiter) = self.lock().remove(&seq) else {
            // The request already timed out; it was counted then.
            self.late.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let got: usize = frames.iter().map(|f| f.len()).sum();
        let verdict = if frames.len() == 1 && got == self.size {
            Ok(())
        } else {
            Err(format!(
                "echo of {got} bytes in {} frames, sent {} bytes in 1",
                frames.len(),
                self.size
            ))
        };
        let _ = waiter.send(verdict);
    }

    async fn call(&self, seq: u64, timeout: Duration) -> Outcome {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(seq, tx);
        let outcome = self.send_and_wait(seq, rx, timeout).await;
        self.lock().remove(&seq);
        outcome
    }

    async fn send_and_wait(
        &self,
        seq: u64,
        rx: oneshot::Receiver<Result<(), String>>,
        timeout: Duration,
    ) -> Outcome {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut body = vec![b'x'; self.size];
        body[..8].copy_from_slice(&seq.to_le_bytes());
        match tokio::time::timeout_at(deadline, self.plug.send(body)).await {
            Ok(Ok(())) => {}
            Ok(Err(Error::Timeout { .. })) | Err(_) => return Outcome::Timeout,
            Ok(Err(e)) => return Outcome::Error(e.to_string()),
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(Ok(()))) => Outcome::Ok,
            Ok(Ok(Err(why))) => Outcome::Error(why),
            Ok(Err(_)) => Outcome::Error("the plug closed".into()),
            Err(_) => Outcome::Timeout,
        }
    }
}
