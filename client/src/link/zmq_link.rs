//! A link on libzmq: a DEALER socket connected to one endpoint, a reader
//! task, and libzmq's socket monitor for the connection's state.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::PlugConfig;
use crate::connection::Dispatch;
use crate::error::{Error, TransportError};
use crate::monitor::{self, Monitor};
use crate::socket::{context, AsyncSocket};

use super::{Health, Link};

/// The socket of a libzmq link and the monitor watching it.
pub(super) struct ZmqWire {
    socket: AsyncSocket,
    // After `socket`: the monitor's reader closes only once the DEALER has
    // stopped monitoring (see `Drop`).
    _monitor: Monitor,
}

impl Drop for ZmqWire {
    fn drop(&mut self) {
        self.socket.stop_monitor();
    }
}

impl ZmqWire {
    /// Opens a DEALER with the plug's options, watched by a monitor that
    /// reports to `health`, and connects it to `endpoint`.
    pub(super) fn open(
        config: &PlugConfig,
        endpoint: &str,
        health: &Arc<Health>,
        closed: &CancellationToken,
    ) -> Result<ZmqWire, Error> {
        let sock = context()
            .socket(zmq::DEALER)
            .map_err(TransportError::from)?;
        let setup = || -> Result<(), zmq::Error> {
            // Pending requests fail on close; nothing queued is worth waiting for.
            sock.set_linger(0)?;
            sock.set_sndhwm(config.high_water_mark)?;
            sock.set_rcvhwm(config.high_water_mark)?;
            // Queue only on a live connection, as the native links do.
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
        let watched = health.clone();
        let monitor = monitor::watch(&sock, closed.clone(), move |up| watched.set_connected(up))
            .map_err(TransportError::from)?;
        sock.connect(endpoint)
            .map_err(|source| TransportError::Connect {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        if endpoint.starts_with("inproc://") {
            // libzmq's monitor reports no connection on inproc://: the peer
            // is there once the endpoint is connected (or bound later, which
            // libzmq also allows for inproc).
            health.set_connected(true);
        }
        let socket = AsyncSocket::new(sock).map_err(TransportError::from)?;
        Ok(ZmqWire {
            socket,
            _monitor: monitor,
        })
    }

    pub(super) fn socket(&self) -> &AsyncSocket {
        &self.socket
    }
}

/// Runs the link's reader until the plug closes it.
pub(super) fn spawn<S: Dispatch>(state: Arc<S>, link: Arc<Link>) {
    tokio::spawn(async move {
        let Some(socket) = link.zmq_socket() else {
            return;
        };
        // One wait for the whole loop, not a new registration per message.
        let closed = link.closed.cancelled();
        tokio::pin!(closed);
        loop {
            tokio::select! {
                biased;
                _ = &mut closed => break,
                r = socket.recv() => match r {
                    Ok(frames) => {
                        link.health.received(1);
                        state.dispatch(frames).await;
                    }
                    Err(e) => {
                        tracing::error!(plug = state.connection().name(), endpoint = link.endpoint(), error = %e, "plug socket failed; link closed");
                        break;
                    }
                },
            }
        }
    });
}
