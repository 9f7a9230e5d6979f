//! The tokio layer: the handshake over a stream, then a [`Reader`] and a
//! [`Writer`] that one task owns and drives in a `select!` loop, exchanging
//! batches with its callers.
//!
//! ```no_run
//! # async fn run() -> Result<(), plug_zmtp::Error> {
//! use bytes::Bytes;
//! use plug_zmtp::{Batch, Heartbeat, Keepalive, KeepaliveAction, Options, SocketType};
//! use std::time::Duration;
//!
//! let stream = tokio::net::TcpStream::connect("127.0.0.1:5555").await?;
//! stream.set_nodelay(true)?;
//! let connection = plug_zmtp::handshake(stream, &Options::new(SocketType::Dealer)).await?;
//! let mut keepalive = Keepalive::new(Heartbeat::every(Duration::from_secs(1)), connection.peer());
//! let (mut reader, mut writer) = connection.into_split();
//! let (_to_peer, mut outgoing) = tokio::sync::mpsc::channel::<Vec<Bytes>>(1024);
//! let mut batch = Batch::default();
//! let mut requests = Vec::new();
//! loop {
//!     let last = reader.last_received();
//!     tokio::select! {
//!         r = reader.read_batch(&mut batch) => {
//!             r?;
//!             writer.answer_pings(&mut batch);
//!             for message in batch.messages.drain(..) { /* hand over */ let _ = message; }
//!         }
//!         n = outgoing.recv_many(&mut requests, 256) => {
//!             if n == 0 { break; }
//!             for message in requests.drain(..) { writer.queue(message)?; }
//!         }
//!         action = async { keepalive.as_mut().unwrap().tick(last).await }, if keepalive.is_some() => {
//!             match action {
//!                 KeepaliveAction::Ping(ping) => writer.queue_command(&ping),
//!                 KeepaliveAction::PeerSilent => return Err(plug_zmtp::Error::Timeout("heartbeat")),
//!             }
//!         }
//!         r = writer.flush(), if !writer.is_empty() => r?,
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Every future here is cancel-safe: `read_batch` keeps partial frames in the
//! reader and returns as soon as its read completed something; `flush`
//! records every byte written before it yields.

mod keepalive;
mod reader;
mod split;
mod writer;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::io::poll_read_buf;

pub use keepalive::{Heartbeat, Keepalive, KeepaliveAction};
pub use reader::{Batch, Reader};
pub use split::IntoSplit;
pub use writer::Writer;

use crate::{Error, Handshake, Options, PeerInfo};

/// A stream after a finished handshake, ready to be split.
#[derive(Debug)]
pub struct Connection<S> {
    stream: S,
    peer: PeerInfo,
    input: BytesMut,
    options: Options,
}

/// Runs the NULL handshake on `stream` within `options.handshake_timeout`.
///
/// Errors: [`Error::Option`] for bad options (before any I/O),
/// [`Error::Protocol`] when the peer breaks ZMTP or is incompatible (an
/// ERROR command saying why is sent first when the peer's greeting was
/// good), [`Error::Refused`] when the peer sent ERROR,
/// [`Error::ClosedInGreeting`] (how libzmq refuses another mechanism),
/// [`Error::Closed`],
/// [`Error::Io`], [`Error::Timeout`]. On error the stream is dropped, which
/// closes it.
pub async fn handshake<S>(mut stream: S, options: &Options) -> Result<Connection<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut handshake = Handshake::new(options)?;
    let deadline = Instant::now() + options.handshake_timeout;
    let mut input = BytesMut::with_capacity(options.read_buffer);
    let exchange = async {
        // Writes and reads go on together, so that two sides whose streams
        // buffer less than a greeting cannot both wait in a write.
        let mut out = handshake.output().split();
        loop {
            let read = poll_fn(|cx| {
                while !out.is_empty() {
                    match Pin::new(&mut stream).poll_write(cx, &out) {
                        Poll::Ready(Ok(0)) => {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()))
                        }
                        Poll::Ready(Ok(n)) => out.advance(n),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => break,
                    }
                }
                input.reserve(options.read_buffer);
                poll_read_buf(Pin::new(&mut stream), cx, &mut input)
            })
            .await;
            let closed = match read {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => true,
                Err(e) => return Err(e.into()),
            };
            if closed {
                return Err(if handshake.in_greeting() {
                    Error::ClosedInGreeting {
                        received: input.len(),
                    }
                } else {
                    Error::Closed
                });
            }
            let done = handshake.feed(&mut input)?;
            out.extend_from_slice(&handshake.output().split());
            if let Some(peer) = done {
                stream.write_all(&out).await?;
                return Ok(peer);
            }
        }
    };
    let result = tokio::time::timeout_at(deadline, exchange).await;
    match result {
        Ok(Ok(peer)) => {
            tracing::debug!(
                peer.socket_type = %peer.socket_type,
                peer.version = ?peer.version,
                "ZMTP handshake done"
            );
            Ok(Connection {
                stream,
                peer,
                input,
                options: options.clone(),
            })
        }
        Ok(Err(e)) => {
            let refusal = handshake.output().split();
            if !refusal.is_empty() {
                // Best effort: the peer learns why before the close.
                let _ = tokio::time::timeout_at(deadline, stream.write_all(&refusal)).await;
            }
            tracing::debug!(error = %e, "ZMTP handshake failed");
            Err(e)
        }
        Err(_) => Err(Error::Timeout("the ZMTP handshake did not finish in time")),
    }
}

impl<S> Connection<S> {
    /// What the peer said about itself.
    pub fn peer(&self) -> &PeerInfo {
        &self.peer
    }

    /// Splits a TCP or Unix stream into owned halves (no lock between
    /// them).
    pub fn into_split(self) -> (Reader<S::Read>, Writer<S::Write>)
    where
        S: IntoSplit,
    {
        let (read, write) = self.stream.into_split();
        (
            Reader::new(read, self.input, &self.options, self.peer.version),
            Writer::new(write, &self.options),
        )
    }

    /// Splits any stream with `tokio::io::split` (a lock shared by the
    /// halves; prefer [`Connection::into_split`] for TCP and Unix streams).
    #[allow(clippy::type_complexity)]
    pub fn split(
        self,
    ) -> (
        Reader<tokio::io::ReadHalf<S>>,
        Writer<tokio::io::WriteHalf<S>>,
    )
    where
        S: AsyncRead + AsyncWrite,
    {
        let (read, write) = tokio::io::split(self.stream);
        (
            Reader::new(read, self.input, &self.options, self.peer.version),
            Writer::new(write, &self.options),
        )
    }
}
