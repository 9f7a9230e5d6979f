//! [`Frame`]: one ZeroMQ message part, moved between threads without copying.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// One frame (message part) as it travels on the wire.
///
/// A `Frame` is a reference-counted byte buffer ([`Bytes`]): cloning one
/// shares the bytes, a frame built from a `Vec<u8>` takes its buffer, and a
/// received frame is handed over without copying, whichever transport it
/// came through (a libzmq message keeps its own buffer alive inside it).
///
/// ```
/// use plug::Frame;
/// let f = Frame::from("hello");
/// assert_eq!(&f[..], b"hello");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame(Bytes);

/// The frames of one message on its way out of a plug: in place up to two
/// (a body and its delimiter), so that a request needs no allocation of
/// its own for them.
pub(crate) type Frames = smallvec::SmallVec<[Frame; 2]>;

/// Frames at most this long go to libzmq as a copy (libzmq stores up to 33
/// bytes inline and mallocs the rest anyway); longer ones hand their buffer
/// over when nothing else shares it.
const ZMQ_COPY_MAX: usize = 4 * 1024;

/// A received libzmq message as the owner of a frame's bytes.
struct ZmqBytes(zmq::Message);

// SAFETY: a zmq_msg_t has no thread affinity; libzmq only requires that one
// thread at a time uses it, which ownership guarantees here. Shared data of
// large messages is reference counted with atomics inside libzmq.
unsafe impl Send for ZmqBytes {}

impl AsRef<[u8]> for ZmqBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Frame {
    /// An empty frame, as used for the delimiter of a REQ-style envelope.
    pub const fn empty() -> Frame {
        Frame(Bytes::new())
    }

    /// The frame's bytes copied into a new frame.
    pub fn copy_from(bytes: &[u8]) -> Frame {
        Frame(Bytes::copy_from_slice(bytes))
    }

    /// The bytes, shared.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    pub(crate) fn into_zmq(self) -> zmq::Message {
        if self.0.len() <= ZMQ_COPY_MAX {
            return zmq::Message::from(&self.0[..]);
        }
        // Vec::from takes the buffer without a copy when this frame is its
        // only owner and it was built from a Vec; it copies otherwise.
        zmq::Message::from(Vec::from(self.0))
    }

    pub(crate) fn from_zmq(msg: zmq::Message) -> Frame {
        if msg.len() <= ZMQ_COPY_MAX {
            Frame(Bytes::copy_from_slice(&msg))
        } else {
            Frame(Bytes::from_owner(ZmqBytes(msg)))
        }
    }

    /// The bytes as UTF-8 text, if they are.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self).ok()
    }

    /// The frame's bytes copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.deref().to_vec()
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq<[u8]> for Frame {
    fn eq(&self, other: &[u8]) -> bool {
        &self[..] == other
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame(b\"{}\")", self.escape_ascii())
    }
}

impl From<Vec<u8>> for Frame {
    /// Takes the vector's buffer without copying.
    fn from(v: Vec<u8>) -> Frame {
        Frame(Bytes::from(v))
    }
}

impl From<Box<[u8]>> for Frame {
    fn from(v: Box<[u8]>) -> Frame {
        Frame(Bytes::from(v))
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Frame {
        Frame::from(s.into_bytes())
    }
}

impl From<&[u8]> for Frame {
    fn from(b: &[u8]) -> Frame {
        Frame::copy_from(b)
    }
}

impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(b: &[u8; N]) -> Frame {
        Frame::copy_from(b)
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Frame {
        Frame::copy_from(s.as_bytes())
    }
}

impl From<Bytes> for Frame {
    /// Shares the bytes without copying.
    fn from(b: Bytes) -> Frame {
        Frame(b)
    }
}

impl From<Frame> for Bytes {
    fn from(f: Frame) -> Bytes {
        f.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_their_bytes() {
        let all: Vec<u8> = (0..=255).collect();
        let f = Frame::from(all.clone());
        assert_eq!(f.to_vec(), all);
        assert_eq!(f.clone(), f);
        assert!(Frame::empty().is_empty());
        assert_eq!(
            format!("{:?}", Frame::from(&b"a\0"[..])),
            "Frame(b\"a\\x00\")"
        );
    }
}
