//! A link on the native transport: dial, handshake, then one task reads
//! batches and writes what callers queued, until the connection drops; then
//! dial again, as libzmq does for a connecting socket (PROTOCOL.md §8.4).
//! The task lends its writer to the link's queue, so that a request sent
//! alone is written by its caller at once (`Outgoing::try_push_now`).

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use plug_zmtp::{Heartbeat, IntoSplit, Keepalive, KeepaliveAction, Options, SocketType};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::connection::Dispatch;
use crate::frame::{Frame, Frames};
use crate::transport::native::{dial, Outgoing, Stream, WRITE_HIGH};
use crate::transport::Address;

use super::{Link, Presence};

/// The first wait before dialing again (libzmq's `ZMQ_RECONNECT_IVL`).
const REDIAL_MIN: Duration = Duration::from_millis(100);
/// The longest wait between two dials of an endpoint that stays down.
const REDIAL_MAX: Duration = Duration::from_secs(1);
/// The handshake must finish within this (libzmq's `ZMQ_HANDSHAKE_IVL`).
const HANDSHAKE: Duration = Duration::from_secs(30);

pub(super) fn spawn<S: Dispatch>(
    state: Arc<S>,
    link: Arc<Link>,
    out: Arc<Outgoing>,
    address: Address,
) {
    tokio::spawn(async move {
        let closed = link.closed.clone();
        tokio::select! {
            _ = closed.cancelled() => {}
            _ = run(&state, &link, &out, &address) => {}
        }
        out.close();
    });
}

/// Dials until the plug closes; each connection runs until it drops.
async fn run<S: Dispatch>(state: &Arc<S>, link: &Link, out: &Outgoing, address: &Address) {
    let config = &state.connection().config;
    let mut options = Options::new(SocketType::Dealer).handshake_timeout(HANDSHAKE);
    options.limits.max_message_size = u64::MAX;
    let heartbeat = (!config.heartbeat.is_zero()).then(|| Heartbeat {
        interval: config.heartbeat,
        timeout: config.heartbeat * 3,
        ttl: config.heartbeat * 3,
    });
    let mut pause = REDIAL_MIN;
    let mut failures = 0u32;
    loop {
        let outcome = match dial(address).await {
            Ok(Stream::Tcp(s)) => session(state, link, out, s, &options, heartbeat).await,
            Ok(Stream::Unix(s)) => session(state, link, out, s, &options, heartbeat).await,
            Err(e) => Err(plug_zmtp::Error::Io(e)),
        };
        match outcome {
            Ok(()) => {
                pause = REDIAL_MIN;
                failures = 0;
            }
            Err(e) => {
                failures += 1;
                // The first failure in a row is worth a line; the rest of an
                // outage would flood the log.
                if failures == 1 {
                    tracing::info!(plug = config.name, endpoint = link.endpoint(), error = %e, "connection failed; dialing again");
                } else {
                    tracing::debug!(plug = config.name, endpoint = link.endpoint(), error = %e, failures, "connection failed");
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(REDIAL_MAX);
    }
}

/// One connection, from handshake to its end. `Ok` when it was up and the
/// peer closed it, `Err` when it failed.
async fn session<S, T>(
    state: &Arc<S>,
    link: &Link,
    out: &Outgoing,
    stream: T,
    options: &Options,
    heartbeat: Option<Heartbeat>,
) -> Result<(), plug_zmtp::Error>
where
    S: Dispatch,
    T: IntoSplit + AsyncRead + AsyncWrite + Unpin,
    T::Write: Send + 'static,
{
    let connection = plug_zmtp::handshake(stream, options).await?;
    let plug = state.connection().name();
    let mut keepalive = heartbeat.and_then(|h| Keepalive::new(h, connection.peer()));
    let (mut reader, writer) = connection.into_split();
    // The writer is lent to the queue: a lone request is written by the
    // task that sends it (`Outgoing::try_push_now`), the rest by this one.
    out.attach(writer.boxed());
    let presence = Presence::up(link);
    tracing::debug!(plug, endpoint = link.endpoint(), "connected");
    let mut batch = plug_zmtp::Batch::default();
    let mut queued: Vec<Frames> = Vec::new();
    let mut work = std::pin::pin!(out.notified());
    let ended = loop {
        let last = reader.last_received();
        let unwritten = out.with_writer(|w| w.queued()).unwrap_or(0);
        tokio::select! {
            r = reader.read_batch(&mut batch) => {
                if let Err(e) = r {
                    break Err(e);
                }
                out.with_writer(|w| w.answer_pings(&mut batch));
                link.health.received(batch.messages.len() as u64 + batch.pongs.len() as u64);
                batch.pongs.clear();
                batch.commands.clear();
                for message in batch.messages.drain(..) {
                    state.dispatch(message.into_iter().map(Frame::from).collect()).await;
                }
            }
            _ = work.as_mut(), if unwritten < WRITE_HIGH => {
                work.set(out.notified());
                out.take(&mut queued);
                let written = out.with_writer(|w| {
                    for message in queued.drain(..) {
                        if let Err(e) = w.queue(message.into_iter().map(Frame::into_bytes)) {
                            tracing::warn!(plug, endpoint = link.endpoint(), error = %e, "message not sent");
                        }
                    }
                    // Written in this turn when the socket takes it; what
                    // it does not take, the flush branch writes.
                    w.write_now()
                });
                if let Some(Err(e)) = written {
                    break Err(e);
                }
            }
            r = poll_fn(|cx| out.poll_flush(cx)), if unwritten > 0 => {
                if let Err(e) = r {
                    break Err(e);
                }
            }
            action = async { keepalive.as_mut().expect("guarded").tick(last).await }, if keepalive.is_some() => {
                match action {
                    KeepaliveAction::Ping(ping) => {
                        out.with_writer(|w| w.queue_command(&ping));
                    }
                    KeepaliveAction::PeerSilent => {
                        break Err(plug_zmtp::Error::Timeout("no heartbeat from the server"));
                    }
                }
            }
        }
    };
    let dropped = out.close();
    drop(presence);
    if dropped > 0 {
        tracing::warn!(
            plug,
            endpoint = link.endpoint(),
            dropped,
            "connection lost with messages still queued; they were not sent"
        );
    }
    match ended {
        Err(plug_zmtp::Error::Closed) => {
            tracing::info!(
                plug,
                endpoint = link.endpoint(),
                "the server closed the connection; dialing again"
            );
            Ok(())
        }
        other => other,
    }
}
