//! [`Frame`]: one ZeroMQ message part, moved between threads without copying.

use std::fmt;
use std::ops::Deref;

/// One frame (message part) as it travels on the wire.
///
/// A `Frame` owns a libzmq message, so a received frame is handed to the caller
/// without copying and a frame built from a `Vec<u8>` is sent without copying.
///
/// ```
/// use plug::Frame;
/// let f = Frame::from("hello");
/// assert_eq!(&f[..], b"hello");
/// ```
pub struct Frame(zmq::Message);

// SAFETY: a zmq_msg_t has no thread affinity; libzmq only requires that one
// thread at a time uses it, which `&mut`/ownership guarantees. Shared data of
// large messages is reference counted with atomics inside libzmq.
unsafe impl Send for Frame {}
// SAFETY: `&Frame` only gives read access to the bytes (`zmq_msg_data` and
// `zmq_msg_size` do not mutate the message).
unsafe impl Sync for Frame {}

impl Frame {
    /// An empty frame, as used for the delimiter of a REQ-style envelope.
    pub fn empty() -> Frame {
        Frame(zmq::Message::new())
    }

    /// The frame's bytes copied into a new frame.
    pub fn copy_from(bytes: &[u8]) -> Frame {
        Frame(zmq::Message::from(bytes))
    }

    pub(crate) fn into_zmq(self) -> zmq::Message {
        self.0
    }

    pub(crate) fn from_zmq(msg: zmq::Message) -> Frame {
        Frame(msg)
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

impl Clone for Frame {
    fn clone(&self) -> Frame {
        Frame::copy_from(self)
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Frame {}

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
        Frame(zmq::Message::from(v))
    }
}

impl From<Box<[u8]>> for Frame {
    fn from(v: Box<[u8]>) -> Frame {
        Frame(zmq::Message::from(v))
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

impl From<bytes::Bytes> for Frame {
    fn from(b: bytes::Bytes) -> Frame {
        Frame::from(Vec::from(b))
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
