//! Messages and commands in, bytes for the wire out, in as few pieces as
//! possible.
//!
//! Small frames are copied, header and body, into one output buffer, so a
//! batch of small messages leaves in one `write`. A frame over the copy limit
//! is not copied: its header goes into the buffer and its body is queued as
//! the caller's own [`Bytes`], for a vectored write (`writev`). The encoder is
//! a [`Buf`]: `chunks_vectored` gives the pieces in order, `advance` drops
//! what was written.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::decoder::{COMMAND, LONG, MORE};
use crate::{Command, ProtocolError};

/// Frames up to this size are copied into the output buffer by default.
pub const DEFAULT_COPY_LIMIT: usize = 8 * 1024;

/// A queue of bytes to write: frozen pieces, then the buffer being filled.
#[derive(Debug)]
pub struct Encoder {
    pieces: VecDeque<Bytes>,
    buf: BytesMut,
    len: usize,
    copy_limit: usize,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder::new(DEFAULT_COPY_LIMIT)
    }
}

impl Encoder {
    /// An empty queue that copies frames of up to `copy_limit` bytes.
    pub fn new(copy_limit: usize) -> Encoder {
        Encoder {
            pieces: VecDeque::new(),
            buf: BytesMut::new(),
            len: 0,
            copy_limit,
        }
    }

    /// Queues a message: MORE on every frame but the last.
    ///
    /// ```
    /// use bytes::{Buf, Bytes};
    /// let mut e = plug_zmtp::Encoder::default();
    /// e.message([Bytes::from_static(b"id"), Bytes::new()]).unwrap();
    /// assert_eq!(e.copy_to_bytes(e.remaining()), &b"\x01\x02id\x00\x00"[..]);
    /// ```
    pub fn message<I>(&mut self, frames: I) -> Result<(), ProtocolError>
    where
        I: IntoIterator<Item = Bytes>,
    {
        let mut frames = frames.into_iter();
        let Some(mut frame) = frames.next() else {
            return Err(ProtocolError::EmptyMessage);
        };
        for next in frames {
            self.frame(frame, MORE);
            frame = next;
        }
        self.frame(frame, 0);
        Ok(())
    }

    /// Queues a command frame.
    pub fn command(&mut self, command: &Command) {
        let size = command.body_len();
        self.header(COMMAND, size);
        let before = self.buf.len();
        command.encode_body(&mut self.buf);
        debug_assert_eq!(self.buf.len() - before, size);
        self.len += size;
    }

    fn header(&mut self, flags: u8, size: usize) {
        if size <= 255 {
            self.buf.put_slice(&[flags, size as u8]);
            self.len += 2;
        } else {
            self.buf.put_u8(flags | LONG);
            self.buf.put_u64(size as u64);
            self.len += 9;
        }
    }

    fn frame(&mut self, body: Bytes, more: u8) {
        self.header(more, body.len());
        self.len += body.len();
        if body.len() <= self.copy_limit {
            self.buf.put_slice(&body);
        } else {
            if !self.buf.is_empty() {
                self.pieces.push_back(self.buf.split().freeze());
            }
            self.pieces.push_back(body);
        }
    }

    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pieces queued (the buffer being filled counts as one).
    pub fn pieces(&self) -> usize {
        self.pieces.len() + usize::from(!self.buf.is_empty())
    }
}

impl Buf for Encoder {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        match self.pieces.front() {
            Some(piece) => piece,
            None => &self.buf,
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let pieces = self.pieces.iter().map(|p| &p[..]);
        for piece in pieces.chain(std::iter::once(&self.buf[..])) {
            if n == dst.len() {
                break;
            }
            if !piece.is_empty() {
                dst[n] = IoSlice::new(piece);
                n += 1;
            }
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of the queue");
        self.len -= cnt;
        while cnt > 0 {
            let Some(front) = self.pieces.front_mut() else {
                self.buf.advance(cnt);
                break;
            };
            if cnt < front.len() {
                front.advance(cnt);
                break;
            }
            cnt -= front.len();
            self.pieces.pop_front();
        }
        if self.len == 0 {
            // Everything written: start the buffer over (it keeps its
            // memory when no piece refers to it any more).
            self.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(e: &mut Encoder) -> Vec<u8> {
        e.copy_to_bytes(e.remaining()).to_vec()
    }

    #[test]
    fn short_long_and_multipart_frames() {
        let mut e = Encoder::new(1 << 20);
        e.message([Bytes::from_static(b"abc")]).unwrap();
        e.message([Bytes::new(), Bytes::from(vec![b'x'; 256])])
            .unwrap();
        let mut want = b"\x00\x03abc\x01\x00\x02\0\0\0\0\0\0\x01\x00".to_vec();
        want.extend_from_slice(&[b'x'; 256]);
        assert_eq!(drain(&mut e), want);
        assert!(e.is_empty());
    }

    #[test]
    fn commands() {
        let mut e = Encoder::default();
        e.command(&Command::Ping {
            ttl: 1,
            context: Bytes::from_static(b"c"),
        });
        e.command(&Command::Pong {
            context: Bytes::from_static(b"c"),
        });
        assert_eq!(drain(&mut e), b"\x04\x08\x04PING\x00\x01c\x04\x06\x04PONGc");
    }

    #[test]
    fn an_empty_message_is_refused() {
        let mut e = Encoder::default();
        assert_eq!(
            e.message(std::iter::empty()),
            Err(ProtocolError::EmptyMessage)
        );
        assert!(e.is_empty());
    }

    #[test]
    fn large_frames_are_not_copied() {
        let mut e = Encoder::new(16);
        let big = Bytes::from(vec![7u8; 100]);
        e.message([Bytes::from_static(b"small")]).unwrap();
        e.message([big.clone()]).unwrap();
        e.message([Bytes::from_static(b"tail")]).unwrap();
        // header+small+header | big | header+tail
        assert_eq!(e.pieces(), 3);
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(e.chunks_vectored(&mut slices), 3);
        assert_eq!(slices[1].as_ptr(), big.as_ptr(), "the body was copied");
        assert_eq!(slices[0].len(), 2 + 5 + 2);
        assert_eq!(e.len(), 9 + 100 + 6);
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut e = Encoder::new(4);
        let frames = [
            Bytes::from_static(b"ab"),
            Bytes::from_static(b"0123456789"),
            Bytes::from_static(b"z"),
        ];
        e.message(frames.clone()).unwrap();
        let mut whole = Encoder::new(1 << 20);
        whole.message(frames).unwrap();
        let want = drain(&mut whole);
        let mut got = Vec::new();
        while e.has_remaining() {
            // Three bytes per "write", crossing piece boundaries.
            let mut slices = [IoSlice::new(&[]); 4];
            let n = e.chunks_vectored(&mut slices);
            let mut take = 3;
            for s in &slices[..n] {
                let k = take.min(s.len());
                got.extend_from_slice(&s[..k]);
                take -= k;
            }
            e.advance(3.min(e.remaining()));
        }
        assert_eq!(got, want);
    }
}
