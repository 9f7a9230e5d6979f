//! [`Message`]: what arrives at a plug without being a reply to a pending
//! request, and the plug's inbox that holds it for the message handler.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::Frame;

/// Why a message went to the message handler.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MessageKind {
    /// A raw plug's message.
    Raw,
    /// A JSON object with no `id`: a server push (PROTOCOL.md §7.1).
    Push,
    /// A JSON object whose `id` matches no pending request: never sent, or
    /// already timed out (§7.2).
    UnknownId(Value),
    /// Not a reply at all: not JSON, not an object, several frames, or a
    /// missing delimiter. The text says which.
    Invalid(String),
}

/// A message handed to the plug's message handler, envelope removed.
#[derive(Clone, Debug)]
pub struct Message {
    frames: Vec<Frame>,
    kind: MessageKind,
}

impl Message {
    pub(crate) fn new(frames: Vec<Frame>, kind: MessageKind) -> Message {
        Message { frames, kind }
    }

    /// The frames of the body.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The frames, by value.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames
    }

    /// The first frame's bytes (empty when there is no frame).
    pub fn body(&self) -> &[u8] {
        self.frames.first().map_or(&[], |f| &f[..])
    }

    /// The first frame parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(self.body()).ok()
    }

    /// Why this message reached the handler.
    pub fn kind(&self) -> &MessageKind {
        &self.kind
    }
}

/// Messages as an async stream; see [`crate::RawPlug::messages`].
pub struct Messages {
    rx: mpsc::Receiver<Message>,
}

impl Messages {
    /// The next message, or `None` once the plug is closed.
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv().await
    }
}

impl futures_util::Stream for Messages {
    type Item = Message;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Message>> {
        self.rx.poll_recv(cx)
    }
}

/// Holds messages for the handler. Until a handler or a stream is attached,
/// at most `capacity` messages wait and later ones are dropped with a
/// warning (and counted); once one is attached, a slow consumer slows the
/// plug's reader down instead, so nothing is dropped.
pub(crate) struct Inbox {
    tx: mpsc::Sender<Message>,
    rx: Mutex<Option<mpsc::Receiver<Message>>>,
    attached: AtomicBool,
    pub(crate) dropped: AtomicU64,
}

impl Inbox {
    pub(crate) fn new(capacity: usize) -> Inbox {
        let (tx, rx) = mpsc::channel(capacity);
        Inbox {
            tx,
            rx: Mutex::new(Some(rx)),
            attached: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn take(&self) -> Option<Messages> {
        let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        self.attached.store(true, Ordering::Release);
        Some(Messages { rx })
    }

    pub(crate) async fn deliver(&self, plug: &str, msg: Message) {
        if self.attached.load(Ordering::Acquire) {
            // A closed receiver means the consumer went away; count it.
            if self.tx.send(msg).await.is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(plug, "message handler is gone; message dropped");
            }
            return;
        }
        if let Err(e) = self.tx.try_send(msg) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            let kind = match &e {
                mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => {
                    m.kind().clone()
                }
            };
            tracing::warn!(
                plug,
                ?kind,
                "no message handler attached and inbox full; message dropped"
            );
        }
    }
}
