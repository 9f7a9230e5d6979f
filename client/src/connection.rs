//! The part every plug shares: its links (one per endpoint), the inbox and
//! the counters.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::balance::Links;
use crate::config::PlugConfig;
use crate::discovery::{Discovery, DnsTarget};
use crate::error::Error;
use crate::frame::{Frame, Frames};
use crate::link::{Link, LinkError};
use crate::message::Inbox;
use crate::stats::Counters;

pub(crate) struct Connection {
    pub(crate) config: PlugConfig,
    pub(crate) links: Links,
    pub(crate) inbox: Inbox,
    pub(crate) counters: Counters,
    /// Cancelled when the plug closes; use [`Connection::close`] and
    /// [`Connection::is_closed`], which keep `shut` in step.
    pub(crate) closed: CancellationToken,
    /// The same fact as `closed`, readable without a lock.
    shut: AtomicBool,
    /// The `dns+tcp://` names being looked up, for `stats()`.
    discoveries: std::sync::Mutex<Vec<Arc<Discovery>>>,
}

impl Connection {
    /// Checks the configuration; the links open in [`start`], once the
    /// plug that dispatches their messages exists.
    pub(crate) fn new(config: PlugConfig) -> Result<Connection, Error> {
        config.validate("")?;
        Ok(Connection {
            inbox: Inbox::new(config.inbox_capacity),
            config,
            links: Links::default(),
            counters: Counters::default(),
            closed: CancellationToken::new(),
            shut: AtomicBool::new(false),
            discoveries: std::sync::Mutex::default(),
        })
    }

    /// The plug's counters and connection state.
    pub(crate) fn stats(&self, in_flight: u64) -> crate::PlugStats {
        let mut s = self
            .counters
            .snapshot(self.inbox.dropped.load(Ordering::Relaxed), in_flight);
        let links = self.links.all();
        s.per_endpoint = self.links.reporting().iter().map(|l| l.stats()).collect();
        s.endpoints = links.len() as u64;
        s.connected = links.iter().filter(|l| l.health.is_connected()).count() as u64;
        s.disconnects = s.per_endpoint.iter().map(|e| e.disconnects).sum::<u64>()
            + self.links.departed_disconnects();
        s.discovery = self
            .discoveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|d| d.stats())
            .collect();
        s
    }

    /// Sends a message that expects no reply of its own (a raw message or a
    /// notification) on the next link, waiting for a connected link and for
    /// room up to the timeout.
    pub(crate) async fn send_message(&self, body: Vec<Frame>) -> Result<(), Error> {
        self.log("out", None, &body);
        let wire = Frames::from_vec(self.config.envelope.wrap(body));
        let timeout = self.config.timeout;
        let deadline = Instant::now() + timeout;
        let timed_out = || Error::Timeout {
            id: None,
            after: timeout,
        };
        loop {
            let link = self
                .links
                .pick_until(deadline, None)
                .await
                .ok_or_else(timed_out)?;
            let sent = tokio::time::timeout_at(deadline, link.send(wire.clone())).await;
            match sent {
                Ok(Ok(())) => {
                    Counters::bump(&self.counters.sent);
                    return Ok(());
                }
                // The link went down under us: try the next one.
                Ok(Err(LinkError::Down)) => continue,
                Ok(Err(LinkError::Transport(e))) => return Err(Error::Transport(e)),
                Err(_) => return Err(timed_out()),
            }
        }
    }

    /// Closes the plug: the links stop and every waiter sees it.
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

    /// Whether [`Connection::log`] writes anything: the plug's `debug`, or
    /// tracing at TRACE level.
    pub(crate) fn logging(&self) -> bool {
        self.config.debug || tracing::enabled!(tracing::Level::TRACE)
    }

    /// Logs a message going out or coming in: at `info` with `debug = true`,
    /// else at `trace`. Payloads are escaped and cut to 512 bytes.
    pub(crate) fn log(&self, direction: &'static str, id: Option<u64>, frames: &[Frame]) {
        if !self.logging() {
            return;
        }
        let debug = self.config.debug;
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

/// Opens a link to every configured endpoint, and starts discovery for
/// each `dns+tcp://` one, each link handing what it receives to `state`;
/// calls [`Dispatch::on_close`] once the plug closes.
pub(crate) fn start<S: Dispatch>(state: &Arc<S>) -> Result<(), Error> {
    let conn = state.connection();
    let opened = (|| {
        for endpoint in &conn.config.connect_to {
            if DnsTarget::is_dns(endpoint) {
                let target: DnsTarget = endpoint
                    .parse()
                    .map_err(|m: String| Error::Config(crate::ConfigError::new("connect_to", m)))?;
                let discovery = Discovery::start(target, &conn.config.discovery).map_err(|e| {
                    Error::Config(crate::ConfigError::new("connect_to", e.to_string()))
                })?;
                let discovery = Arc::new(discovery);
                conn.discoveries
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(discovery.clone());
                tokio::spawn(follow(state.clone(), discovery));
            } else {
                conn.links
                    .add(Link::open(state, endpoint.clone(), conn.links.changed())?);
            }
        }
        Ok(())
    })();
    if let Err(e) = opened {
        // The links opened so far stop with the plug.
        conn.close();
        return Err(e);
    }
    let watcher = state.clone();
    tokio::spawn(async move {
        let conn = watcher.connection();
        conn.closed.cancelled().await;
        conn.links.close_all();
        watcher.on_close();
    });
    Ok(())
}

/// Keeps a plug's links to the endpoints behind one `dns+tcp://` name in
/// step with what discovery finds: a new address gets a link, a vanished
/// one stops getting requests and closes once those in flight have ended.
/// A link of this name that goes down asks for a lookup at once.
async fn follow<S: Dispatch>(state: Arc<S>, discovery: Arc<Discovery>) {
    let conn = state.connection();
    let mut endpoints = discovery.endpoints();
    let mut mine: Vec<String> = Vec::new();
    let changed = conn.links.changed();
    loop {
        let now: Vec<String> = endpoints.borrow_and_update().clone();
        for gone in mine.iter().filter(|e| !now.contains(e)) {
            if let Some(link) = conn.links.remove(gone) {
                tracing::info!(plug = conn.name(), endpoint = gone, target = %discovery.target(), "endpoint no longer listed; draining it");
                link.drain();
                tokio::spawn(close_when_idle(state.clone(), link, conn.config.timeout));
            }
        }
        for new in now.iter().filter(|e| !mine.contains(e)) {
            match Link::open(&state, new.clone(), conn.links.changed()) {
                Ok(link) => {
                    tracing::info!(plug = conn.name(), endpoint = new, target = %discovery.target(), "endpoint discovered");
                    conn.links.add(link);
                }
                Err(e) => {
                    tracing::warn!(
                        plug = conn.name(),
                        endpoint = new,
                        "cannot open a discovered endpoint: {e}"
                    )
                }
            }
        }
        mine = now;
        let down = changed.notified();
        tokio::pin!(down);
        down.as_mut().enable();
        if conn
            .links
            .all()
            .iter()
            .any(|l| mine.iter().any(|e| e == l.endpoint()) && !l.health.is_connected())
        {
            // One of ours is down: the name may have moved on.
            discovery.refresh();
        }
        tokio::select! {
            _ = conn.closed.cancelled() => return,
            r = endpoints.changed() => if r.is_err() { return },
            _ = down => {}
        }
    }
}

/// Closes a link that gets no new requests once its requests in flight have
/// ended (each ends by its deadline at the latest), and forgets it.
async fn close_when_idle<S: Dispatch>(
    state: Arc<S>,
    link: Arc<Link>,
    timeout: std::time::Duration,
) {
    let deadline = Instant::now() + timeout;
    while link.health.in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    link.close();
    state.connection().links.forget(&link);
}

/// Closes the plug when the last handle is dropped.
pub(crate) struct Handle<S: Dispatch>(pub(crate) Arc<S>);

impl<S: Dispatch> Drop for Handle<S> {
    fn drop(&mut self) {
        self.0.connection().close();
    }
}
