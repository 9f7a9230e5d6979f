//! The receiving half: one read per call, every complete message out.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use crate::{Command, Decoder, Error, Inbound, Options, ProtocolError, Version};

/// The most a frame's header alone makes the reader reserve for its body.
const UPFRONT: usize = 64 << 20;

/// What one [`Reader::read_batch`] call produced. Reuse one `Batch` across
/// calls; its vectors keep their capacity.
#[derive(Debug, Default)]
pub struct Batch {
    /// Whole messages, in arrival order.
    pub messages: Vec<Vec<Bytes>>,
    /// PING contexts to answer with PONG ([`Writer::answer_pings`](crate::Writer::answer_pings)).
    pub pings: Vec<Bytes>,
    /// Contexts of the PONGs received (each one answers a PING of ours).
    pub pongs: Vec<Bytes>,
    /// Commands this crate does not handle (e.g. SUBSCRIBE), surfaced.
    pub commands: Vec<Command>,
}

impl Batch {
    /// Whether nothing is in the batch.
    pub fn is_empty(&self) -> bool {
        self.events() == 0
    }

    fn events(&self) -> usize {
        self.messages.len() + self.pings.len() + self.pongs.len() + self.commands.len()
    }
}

/// The receiving half of a connection.
#[derive(Debug)]
pub struct Reader<R> {
    io: R,
    buf: BytesMut,
    decoder: Decoder,
    read_size: usize,
    last_received: Instant,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub(crate) fn new(io: R, buf: BytesMut, options: &Options, peer: Version) -> Reader<R> {
        Reader {
            io,
            buf,
            decoder: Decoder::for_version(options.limits, peer).with_copy_limit(options.copy_limit),
            read_size: options.read_buffer,
            last_received: Instant::now(),
        }
    }

    /// Adds to `batch` every complete message and command the read buffer
    /// holds, reading from the stream (one `read` at a time) only while it
    /// holds none. Returns once the batch grew.
    ///
    /// Errors: [`Error::Closed`] at end of stream, [`Error::Refused`] for
    /// the peer's ERROR command, [`Error::Protocol`], [`Error::Io`]. What
    /// was decoded before an error is in `batch`. Cancel-safe.
    pub async fn read_batch(&mut self, batch: &mut Batch) -> Result<(), Error> {
        let before = batch.events();
        loop {
            self.decode_into(batch)?;
            if batch.events() > before {
                return Ok(());
            }
            if self.buf.is_empty() && self.buf.capacity() > 8 * self.read_size {
                // After a large message: a fresh buffer, so that later small
                // frames do not keep the large allocation alive.
                self.buf = BytesMut::new();
            }
            // Room for a whole read, and for the rest of the frame being
            // read once its header is in: a large frame then lands in one
            // buffer, with no copy on the way as the buffer grows. What a
            // header alone makes this side reserve is bounded by
            // [`UPFRONT`] (and costs address space only: pages are touched
            // as bytes arrive); past that the buffer grows geometrically
            // with the bytes that arrived.
            let needed = self.decoder.needed();
            let want = if needed <= UPFRONT {
                needed
            } else {
                needed.min(self.buf.len().max(UPFRONT))
            };
            self.buf.reserve(self.read_size.max(want));
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(Error::Closed);
            }
            self.last_received = Instant::now();
        }
    }

    fn decode_into(&mut self, batch: &mut Batch) -> Result<(), Error> {
        while let Some(inbound) = self.decoder.decode(&mut self.buf)? {
            match inbound {
                Inbound::Message(message) => batch.messages.push(message),
                Inbound::Command(Command::Ping { context, .. }) => batch.pings.push(context),
                Inbound::Command(Command::Pong { context }) => batch.pongs.push(context),
                Inbound::Command(Command::Error { reason }) => {
                    return Err(Error::Refused {
                        reason: String::from_utf8_lossy(&reason).into_owned(),
                    })
                }
                Inbound::Command(Command::Ready(_)) => {
                    return Err(ProtocolError::Unexpected {
                        got: "READY".to_owned(),
                        phase: "traffic after the handshake",
                    }
                    .into())
                }
                Inbound::Command(command) => batch.commands.push(command),
            }
        }
        Ok(())
    }

    /// When bytes last arrived from the peer (for [`Keepalive`](crate::Keepalive)).
    pub fn last_received(&self) -> Instant {
        self.last_received
    }

    /// Bytes buffered and not yet decoded into a batch (frames of an
    /// incomplete message included).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Capacity of the read buffer (for memory checks).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}
