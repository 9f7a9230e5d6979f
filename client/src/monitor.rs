//! Connection events from libzmq's socket monitor, for a libzmq link.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::socket::{context, AsyncSocket};

/// The reading end of a socket monitor. It must outlive the monitoring:
/// the link stops the monitor on drop, before this socket closes.
pub(crate) struct Monitor {
    _reader: Arc<AsyncSocket>,
}

/// Starts watching `sock`: `on_change(true)` when a connection is made,
/// `on_change(false)` when one is lost. The watching task ends with `closed`.
pub(crate) fn watch(
    sock: &zmq::Socket,
    closed: CancellationToken,
    on_change: impl Fn(bool) + Send + 'static,
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
    let reader = pair.clone();
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
            if event == zmq::SocketEvent::CONNECTED as u16 {
                on_change(true);
            } else if event == zmq::SocketEvent::DISCONNECTED as u16 {
                on_change(false);
            }
        }
    });
    Ok(Monitor { _reader: reader })
}
