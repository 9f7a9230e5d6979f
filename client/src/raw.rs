//! [`RawPlug`]: any frames out, any frames in.

use std::sync::Arc;

use crate::connection::{start, Connection, Dispatch, Handle};
use crate::message::{Message, MessageKind, Messages};
use crate::stats::{Counters, PlugStats};
use crate::{Error, Frame, PlugConfig};

/// A raw plug: sends and receives opaque frames (PROTOCOL.md §4).
///
/// ```no_run
/// # async fn demo() -> Result<(), plug::Error> {
/// let velocity = plug::PlugBuilder::new("velocity")
///     .connect_to("tcp://127.0.0.1:5000")
///     .raw()?;
/// velocity.send("Hello from Rust").await?;
/// velocity.on_message(|msg| {
///     println!("Message received from Velocity server: {}", String::from_utf8_lossy(msg.body()));
/// });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RawPlug {
    inner: Arc<Handle<RawState>>,
}

pub(crate) struct RawState {
    conn: Connection,
}

impl Dispatch for RawState {
    fn connection(&self) -> &Connection {
        &self.conn
    }

    async fn dispatch(&self, frames: Vec<Frame>) {
        self.conn.log("in", None, &frames);
        Counters::bump(&self.conn.counters.unmatched);
        let msg = match self.conn.config.envelope.unwrap(frames) {
            Ok(body) => Message::new(body, MessageKind::Raw),
            Err(frames) => {
                tracing::warn!(
                    plug = self.conn.name(),
                    "message without the delimiter frame"
                );
                Message::new(
                    frames,
                    MessageKind::Invalid("missing delimiter frame".into()),
                )
            }
        };
        self.conn.inbox.deliver(self.conn.name(), msg).await;
    }
}

impl RawPlug {
    /// Opens a raw plug. Must be called inside a tokio runtime.
    pub fn open(config: PlugConfig) -> Result<RawPlug, Error> {
        let state = Arc::new(RawState {
            conn: Connection::new(config)?,
        });
        start(&state)?;
        Ok(RawPlug {
            inner: Arc::new(Handle(state)),
        })
    }

    fn conn(&self) -> &Connection {
        &self.inner.0.conn
    }

    /// The plug's name.
    pub fn name(&self) -> &str {
        self.conn().name()
    }

    /// Sends a one-frame message. Waits while the socket's queue is full,
    /// up to the plug's timeout.
    pub async fn send(&self, frame: impl Into<Frame>) -> Result<(), Error> {
        self.send_multipart(vec![frame.into()]).await
    }

    /// Sends a multipart message; the frames arrive together and in order.
    pub async fn send_multipart<I, F>(&self, frames: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = F>,
        F: Into<Frame>,
    {
        let conn = self.conn();
        if conn.is_closed() {
            return Err(Error::Closed);
        }
        conn.send_message(frames.into_iter().map(Into::into).collect())
            .await
    }

    /// Incoming messages as an async stream. Only one consumer can take
    /// them: the second call (or a call after [`RawPlug::on_message`])
    /// returns `None`.
    pub fn messages(&self) -> Option<Messages> {
        self.conn().inbox.take()
    }

    /// Calls `handler` for every incoming message, like the seed's
    /// `on 'message'`. Returns `false` if a consumer was already attached.
    pub fn on_message<F>(&self, handler: F) -> bool
    where
        F: FnMut(Message) + Send + 'static,
    {
        attach_handler(self.conn(), handler)
    }

    /// The plug's counters and connection state: messages sent and
    /// received, endpoints connected now, connections lost.
    pub fn stats(&self) -> PlugStats {
        self.conn().stats(0)
    }

    /// Closes the plug now; later sends fail with [`Error::Closed`].
    pub fn close(&self) {
        self.conn().close();
    }
}

pub(crate) fn attach_handler<F>(conn: &Connection, mut handler: F) -> bool
where
    F: FnMut(Message) + Send + 'static,
{
    let Some(mut messages) = conn.inbox.take() else {
        return false;
    };
    tokio::spawn(async move {
        while let Some(m) = messages.recv().await {
            handler(m);
        }
    });
    true
}

impl std::fmt::Debug for RawPlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPlug")
            .field("name", &self.name())
            .field("connect_to", &self.conn().config.connect_to)
            .finish()
    }
}
