//! Connection health from libzmq's socket monitor: how many of a plug's
//! endpoints are connected right now.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::socket::{context, AsyncSocket};

/// Counts connections as libzmq reports them.
#[derive(Default)]
pub(crate) struct Health {
    connected: AtomicI64,
    pub(crate) disconnects: AtomicU64,
}

/// The reading end of a socket monitor. It must outlive the monitoring:
/// [`crate::connection::Connection`] stops the monitor on drop, before this
/// socket closes.
pub(crate) struct Monitor {
    pub(crate) health: Arc<Health>,
    _reader: Arc<AsyncSocket>,
}

impl Health {
    pub(crate) fn connected(&self) -> u64 {
        self.connected.load(Ordering::Relaxed).max(0) as u64
    }
}

/// Starts watching `sock`; the watching task ends with `closed`.
pub(crate) fn watch(
    sock: &zmq::Socket,
    plug: &str,
    closed: CancellationToken,
) -> Result<Monitor, zmq::Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let endpoint = format!(
        "inproc://plug-monitor-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let events = zmq::SocketEvent::CONNECTED as i32 | zmq::SocketEvent::DISCONNECTED as i32;
    sock.monitor(&endpoint, events)?;
    let pair = context().socket(zmq::PAIR)?;
    // No limit on unread events: libzmq's send of an event must never wait.
    pair.set_rcvhwm(0)?;
    pair.connect(&endpoint)?;
    let pair = Arc::new(AsyncSocket::new(pair).map_err(|_| zmq::Error::EFAULT)?);
    let health = Arc::new(Health::default());
    let h = health.clone();
    let reader = pair.clone();
    let plug = plug.to_owned();
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                _ = closed.cancelled() => return,
                m = pair.recv() => match m { Ok(m) => m, Err(_) => return },
            };
            let Some(head) = msg.first().filter(|f| f.len() >= 2) else {
                continue;
            };
            let event = u16::from_le_bytes([head[0], head[1]]);
            let endpoint = msg.get(1).and_then(|f| f.as_str()).unwrap_or("?");
            if event == zmq::SocketEvent::CONNECTED as u16 {
                h.connected.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(plug, endpoint, "connected");
            } else if event == zmq::SocketEvent::DISCONNECTED as u16 {
                h.connected.fetch_sub(1, Ordering::Relaxed);
                h.disconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(plug, endpoint, "disconnected; libzmq reconnects by itself");
            }
        }
    });
    Ok(Monitor {
        health,
        _reader: reader,
    })
}
