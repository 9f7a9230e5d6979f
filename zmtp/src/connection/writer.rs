//! The sending half: many messages queued, flushed in few `writev`s.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::AsyncWrite;

use crate::{Batch, Command, Encoder, Error, Options, ProtocolError};

/// Most pieces handed to one `writev`.
const MAX_IOVECS: usize = 64;

/// The sending half of a connection. Queueing never does I/O; `flush`
/// writes everything queued.
#[derive(Debug)]
pub struct Writer<W> {
    io: W,
    encoder: Encoder,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub(crate) fn new(io: W, options: &Options) -> Writer<W> {
        Writer {
            io,
            encoder: Encoder::new(options.copy_limit),
        }
    }

    /// Queues a message (at least one frame).
    pub fn queue<I>(&mut self, frames: I) -> Result<(), ProtocolError>
    where
        I: IntoIterator<Item = Bytes>,
    {
        self.encoder.message(frames)
    }

    /// Queues a command (a PING from [`Keepalive`](crate::Keepalive), ...).
    pub fn queue_command(&mut self, command: &Command) {
        self.encoder.command(command);
    }

    /// Queues a PONG for every PING in `batch`, and empties `batch.pings`.
    pub fn answer_pings(&mut self, batch: &mut Batch) {
        for context in batch.pings.drain(..) {
            self.encoder.command(&Command::Pong { context });
        }
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.encoder.len()
    }

    pub fn is_empty(&self) -> bool {
        self.encoder.is_empty()
    }

    /// Writes everything queued. Cancel-safe: what was written is gone
    /// from the queue, the rest stays.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Writes what the socket takes now, without waiting for room; what it
    /// does not take stays queued (see [`Writer::is_empty`]) for a later
    /// [`Writer::flush`], which also waits for the socket to have room.
    pub fn write_now(&mut self) -> Result<(), Error> {
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        match self.poll_flush(&mut cx) {
            Poll::Ready(Err(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Queues a message and flushes.
    pub async fn send<I>(&mut self, frames: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = Bytes>,
    {
        self.queue(frames)?;
        self.flush().await
    }

    /// Boxes the half it writes to, so that writers of different streams
    /// have one type.
    pub fn boxed(self) -> Writer<Box<dyn AsyncWrite + Send + Unpin>>
    where
        W: Send + 'static,
    {
        Writer {
            io: Box::new(self.io),
            encoder: self.encoder,
        }
    }

    /// Writes everything queued, as [`Writer::flush`] does, for callers
    /// that poll. What was written is gone from the queue, the rest stays.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while !self.encoder.is_empty() {
            let written = {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = self.encoder.chunks_vectored(&mut slices);
                let io = Pin::new(&mut self.io);
                if n == 1 {
                    ready!(io.poll_write(cx, &slices[0]))?
                } else {
                    ready!(io.poll_write_vectored(cx, &slices[..n]))?
                }
            };
            if written == 0 {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
            }
            self.encoder.advance(written);
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }
}
