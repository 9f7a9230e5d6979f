//! The part every plug shares: the DEALER socket, its reader task, the inbox
//! and the counters.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::PlugConfig;
use crate::error::{Error, TransportError};
use crate::message::Inbox;
use crate::monitor::{self, Monitor};
use crate::socket::{context, AsyncSocket};
use crate::stats::Counters;
use crate::Frame;

pub(crate) struct Connection {
    pub(crate) config: PlugConfig,
    pub(crate) socket: AsyncSocket,
    pub(crate) inbox: Inbox,
    pub(crate) counters: Counters,
    /// Cancelled when the plug closes; use [`Connection::close`] and
    /// [`Connection::is_closed`], which keep `shut` in step.
    pub(crate) closed: CancellationToken,
    /// The same fact as `closed`, readable without a lock.
    shut: AtomicBool,
    // After `socket`: the monitor's reader closes only once the DEALER has
    // stopped monitoring (see `Drop`).
    pub(crate) monitor: Monitor,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.socket.stop_monitor();
    }
}

impl Connection {
    /// Opens the DEALER socket and connects it to every endpoint. Must run
    /// inside a tokio runtime.
    pub(crate) fn open(config: PlugConfig) -> Result<Connection, Error> {
        config.validate("")?;
        let sock = context()
            .socket(zmq::DEALER)
            .map_err(TransportError::from)?;
        let setup = || -> Result<(), zmq::Error> {
            // Pending requests fail on close; nothing queued is worth waiting for.
            sock.set_linger(0)?;
            sock.set_sndhwm(config.high_water_mark)?;
            sock.set_rcvhwm(config.high_water_mark)?;
            // Queue only on live connections: with several endpoints a dead
            // one must not swallow its share of the requests.
            sock.set_immediate(true)?;
            if !config.heartbeat.is_zero() {
                let ivl = config.heartbeat.as_millis() as i32;
                sock.set_heartbeat_ivl(ivl)?;
                sock.set_heartbeat_timeout(ivl * 3)?;
                sock.set_heartbeat_ttl(ivl * 3)?;
            }
            Ok(())
        };
        setup().map_err(TransportError::from)?;
        if let Some(curve) = &config.curve {
            curve.apply(&sock)?;
        }
        // Watch before connecting, or the first CONNECTED event is missed.
        let closed = CancellationToken::new();
        let monitor =
            monitor::watch(&sock, &config.name, closed.clone()).map_err(TransportError::from)?;
        for endpoint in &config.connect_to {
            sock.connect(endpoint)
                .map_err(|source| TransportError::Connect {
                    endpoint: endpoint.clone(),
                    source,
                })?;
        }
        let socket = AsyncSocket::new(sock).map_err(TransportError::from)?;
        Ok(Connection {
            monitor,
            inbox: Inbox::new(config.inbox_capacity),
            config,
            socket,
            counters: Counters::default(),
            closed,
            shut: AtomicBool::new(false),
        })
    }

    /// The plug's counters and connection state.
    pub(crate) fn stats(&self, in_flight: u64) -> crate::PlugStats {
        let mut s = self
            .counters
            .snapshot(self.inbox.dropped.load(Ordering::Relaxed), in_flight);
        s.connected = self.monitor.health.connected();
        s.endpoints = self.config.connect_to.len() as u64;
        s.disconnects = self.monitor.health.disconnects.load(Ordering::Relaxed);
        s
    }

    /// Sends a message that expects no reply of its own (a raw message or a
    /// notification), waiting while the queue is full up to the timeout.
    pub(crate) async fn send_message(&self, body: Vec<Frame>) -> Result<(), Error> {
        self.log("out", None, &body);
        let wire = self.config.envelope.wrap(body);
        let timeout = self.config.timeout;
        match tokio::time::timeout(timeout, self.socket.send(wire)).await {
            Ok(Ok(())) => {
                Counters::bump(&self.counters.sent);
                Ok(())
            }
            Ok(Err(e)) => Err(Error::Transport(e.into())),
            Err(_) => Err(Error::Timeout {
                id: None,
                after: timeout,
            }),
        }
    }

    /// Closes the plug: the reader stops and every waiter sees it.
    pub(crate) fn close(&self) {
        self.shut.store(true, Ordering::SeqCst);
        self.closed.cancel();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shut.load(Ordering::SeqCst)
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// Logs a message going out or coming in: at `info` with `debug = true`,
    /// else at `trace`. Payloads are escaped and cut to 512 bytes.
    pub(crate) fn log(&self, direction: &'static str, id: Option<u64>, frames: &[Frame]) {
        let debug = self.config.debug;
        if !debug && !tracing::enabled!(tracing::Level::TRACE) {
            return;
        }
        let payload = preview(frames);
        let plug = self.name();
        if debug {
            tracing::info!(plug, direction, id, frames = frames.len(), %payload, "plug message");
        } else {
            tracing::trace!(plug, direction, id, frames = frames.len(), %payload, "plug message");
        }
    }
}

/// A short, printable rendering of a message for logs.
pub(crate) fn preview(frames: &[Frame]) -> String {
    const MAX: usize = 512;
    let mut out = String::new();
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        let cut = &f[..f.len().min(MAX)];
        out.push_str(&cut.escape_ascii().to_string());
        if f.len() > MAX {
            out.push_str(&format!("...({} bytes)", f.len()));
        }
    }
    out
}

/// What a plug does with each message its reader receives.
pub(crate) trait Dispatch: Send + Sync + 'static {
    fn connection(&self) -> &Connection;
    fn dispatch(&self, frames: Vec<Frame>) -> impl Future<Output = ()> + Send;
    fn on_close(&self) {}
}

/// Runs the reader until the plug is closed.
pub(crate) fn spawn_reader<S: Dispatch>(state: Arc<S>) {
    tokio::spawn(async move {
        let conn = state.connection();
        // One wait for the whole loop, not a new registration per message.
        let closed = conn.closed.cancelled();
        tokio::pin!(closed);
        loop {
            tokio::select! {
                biased;
                _ = &mut closed => break,
                r = conn.socket.recv() => match r {
                    Ok(frames) => state.dispatch(frames).await,
                    Err(e) => {
                        tracing::error!(plug = conn.name(), error = %e, "plug socket failed; closing");
                        break;
                    }
                },
            }
        }
        conn.close();
        state.on_close();
    });
}

/// Closes the plug when the last handle is dropped.
pub(crate) struct Handle<S: Dispatch>(pub(crate) Arc<S>);

impl<S: Dispatch> Drop for Handle<S> {
    fn drop(&mut self) {
        self.0.connection().close();
    }
}
