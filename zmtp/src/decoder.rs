//! Frames in, whole messages and commands out: small bodies copied, large ones shared.
//!
//! ```text
//! frame = flags size body
//! flags: bit 0 MORE, bit 1 LONG (8-byte size), bit 2 COMMAND, bits 3-7 zero
//! size:  1 byte, or 8 bytes big-endian when LONG is set
//! ```
//!
//! ZMTP 2.0 frames are the same without COMMAND
//! ([`Decoder::for_version`]).
//!
//! The decoder reads from the front of a [`BytesMut`] read buffer. A small
//! body (up to [`Decoder::copy_limit`], 8 KiB by default) is copied out, so
//! the buffer stays the reader's alone and is reused for the next read, and
//! a message kept for long does not keep a whole read buffer alive; a
//! larger body is split off the buffer as a [`Bytes`] without a copy. Sizes are checked against [`Limits`] as soon as a header
//! is complete, before the body arrives, so a header announcing 2^62 bytes is
//! refused at once and nothing is allocated for it.

use bytes::{Buf, Bytes, BytesMut};

use crate::{Command, ProtocolError, Version};

pub(crate) const MORE: u8 = 0x01;
pub(crate) const LONG: u8 = 0x02;
pub(crate) const COMMAND: u8 = 0x04;
const RESERVED: u8 = !(MORE | LONG | COMMAND);

/// Bounds on what a peer may make this side hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, all frames' bodies together. Default 256 MiB.
    pub max_message_size: u64,
    /// Most frames in one message. Default 65,536.
    pub max_frames: usize,
    /// Largest command frame (READY and its metadata included). Default
    /// 64 KiB.
    pub max_command_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_size: 256 << 20,
            max_frames: 65_536,
            max_command_size: 64 << 10,
        }
    }
}

/// What the decoder yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A whole message: every frame, in order (at least one).
    Message(Vec<Bytes>),
    /// A command frame.
    Command(Command),
}

/// Turns frames into messages and commands; keeps the frames of a message
/// that is not complete yet.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// Flag bits a frame must not have: the reserved ones, and COMMAND
    /// for a ZMTP 2.0 peer.
    reserved: u8,
    copy_limit: usize,
    frames: Vec<Bytes>,
    size: u64,
    needed: usize,
}

impl Decoder {
    /// A decoder for a ZMTP 3 peer.
    pub fn new(limits: Limits) -> Decoder {
        Decoder::for_version(limits, crate::VERSION)
    }

    /// A decoder for a peer that speaks `version`: before ZMTP 3.0 there
    /// are no commands, and a frame flagged as one is refused.
    pub fn for_version(limits: Limits, version: Version) -> Decoder {
        let reserved = if version.has_commands() {
            RESERVED
        } else {
            RESERVED | COMMAND
        };
        Decoder {
            limits,
            reserved,
            copy_limit: crate::DEFAULT_COPY_LIMIT,
            frames: Vec::new(),
            size: 0,
            needed: 0,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bodies up to `bytes` are copied out of the read buffer; larger ones
    /// share its memory.
    pub fn with_copy_limit(mut self, bytes: usize) -> Decoder {
        self.copy_limit = bytes;
        self
    }

    /// The size up to which bodies are copied.
    pub fn copy_limit(&self) -> usize {
        self.copy_limit
    }

    /// Takes the next message or command from the front of `buf`. `None`:
    /// `buf` holds no complete one yet; the bytes stay in `buf` (frames of
    /// a message already complete are kept here) and [`Decoder::needed`]
    /// tells how many more bytes the current frame needs.
    ///
    /// After an error the connection must be closed.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use plug_zmtp::{Decoder, Inbound, Limits};
    /// let mut d = Decoder::new(Limits::default());
    /// let mut buf = BytesMut::from(&b"\x01\x02hi\x00\x05there\x00"[..]);
    /// let Some(Inbound::Message(m)) = d.decode(&mut buf).unwrap() else { panic!() };
    /// assert_eq!(m, [&b"hi"[..], b"there"]);
    /// assert_eq!(d.decode(&mut buf).unwrap(), None);
    /// assert_eq!(d.needed(), 1);
    /// ```
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Inbound>, ProtocolError> {
        loop {
            let Some(&flags) = buf.first() else {
                self.needed = 1;
                return Ok(None);
            };
            if flags & self.reserved != 0 {
                return Err(ProtocolError::ReservedFlags(flags));
            }
            let (header, size) = if flags & LONG == 0 {
                match buf.get(1) {
                    Some(&n) => (2, n as u64),
                    None => {
                        self.needed = 2 - buf.len();
                        return Ok(None);
                    }
                }
            } else {
                match buf.get(1..9) {
                    Some(n) => (9, u64::from_be_bytes(n.try_into().expect("8 bytes"))),
                    None => {
                        self.needed = 9 - buf.len();
                        return Ok(None);
                    }
                }
            };
            let command = flags & COMMAND != 0;
            if command {
                if flags & MORE != 0 || !self.frames.is_empty() {
                    return Err(ProtocolError::CommandInMessage);
                }
                if size > self.limits.max_command_size as u64 {
                    return Err(ProtocolError::CommandTooLarge {
                        size,
                        max: self.limits.max_command_size,
                    });
                }
            } else {
                let total = self.size.saturating_add(size);
                if total > self.limits.max_message_size {
                    return Err(ProtocolError::MessageTooLarge {
                        size: total,
                        max: self.limits.max_message_size,
                    });
                }
                if self.frames.len() >= self.limits.max_frames {
                    return Err(ProtocolError::TooManyFrames {
                        max: self.limits.max_frames,
                    });
                }
            }
            let size = usize::try_from(size).map_err(|_| ProtocolError::MessageTooLarge {
                size,
                max: usize::MAX as u64,
            })?;
            if buf.len() - header < size {
                self.needed = size - (buf.len() - header);
                return Ok(None);
            }
            let body = if size <= self.copy_limit {
                let body = Bytes::copy_from_slice(&buf[header..header + size]);
                buf.advance(header + size);
                body
            } else {
                buf.advance(header);
                buf.split_to(size).freeze()
            };
            if command {
                return Command::parse(body).map(|c| Some(Inbound::Command(c)));
            }
            self.size += size as u64;
            if flags & MORE == 0 {
                // A one-frame message is the common case: one exact
                // allocation, no growth.
                let message = if self.frames.is_empty() {
                    vec![body]
                } else {
                    self.frames.push(body);
                    std::mem::take(&mut self.frames)
                };
                self.size = 0;
                return Ok(Some(Inbound::Message(message)));
            }
            self.frames.push(body);
        }
    }

    /// Bytes the frame being decoded still needs after the last `None`
    /// (only that frame's header and body: a hint for sizing reads).
    pub fn needed(&self) -> usize {
        self.needed
    }

    /// Whether frames of an incomplete message are held.
    pub fn in_message(&self) -> bool {
        !self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(limits: Limits, bytes: &[u8]) -> Result<Vec<Inbound>, ProtocolError> {
        let mut d = Decoder::new(limits);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(x) = d.decode(&mut buf)? {
            out.push(x);
        }
        Ok(out)
    }

    fn msg(frames: &[&[u8]]) -> Inbound {
        Inbound::Message(frames.iter().map(|f| Bytes::copy_from_slice(f)).collect())
    }

    #[test]
    fn short_and_long_frames() {
        let mut long = vec![0x02, 0, 0, 0, 0, 0, 0, 1, 0];
        long.extend_from_slice(&[b'x'; 256]);
        let mut bytes = b"\x00\x03abc".to_vec();
        bytes.extend_from_slice(&long);
        // A long header for a small body is legal.
        bytes.extend_from_slice(b"\x02\0\0\0\0\0\0\0\x01z");
        assert_eq!(
            decode_all(Limits::default(), &bytes).unwrap(),
            [msg(&[b"abc"]), msg(&[&[b'x'; 256]]), msg(&[b"z"])]
        );
    }

    #[test]
    fn multipart_and_empty_frames() {
        let bytes = b"\x01\x00\x01\x05hello\x00\x00\x00\x00";
        assert_eq!(
            decode_all(Limits::default(), bytes).unwrap(),
            [msg(&[b"", b"hello", b""]), msg(&[b""])]
        );
    }

    #[test]
    fn commands_between_messages() {
        let bytes = b"\x04\x07\x04PING\x00\x0a\x00\x01a\x04\x05\x04PONG";
        assert_eq!(
            decode_all(Limits::default(), bytes).unwrap(),
            [
                Inbound::Command(Command::Ping {
                    ttl: 10,
                    context: Bytes::new()
                }),
                msg(&[b"a"]),
                Inbound::Command(Command::Pong {
                    context: Bytes::new()
                }),
            ]
        );
    }

    #[test]
    fn a_zmtp_2_0_peer_sends_no_commands() {
        let mut d = Decoder::for_version(Limits::default(), crate::ZMTP_2_0);
        let mut buf = BytesMut::from(&b"\x01\x01a\x00\x00\x04\x05\x04PONG"[..]);
        assert_eq!(d.decode(&mut buf), Ok(Some(msg(&[b"a", b""]))));
        assert_eq!(d.decode(&mut buf), Err(ProtocolError::ReservedFlags(0x04)));
    }

    #[test]
    fn a_command_inside_a_message_is_refused() {
        let bytes = b"\x01\x01a\x04\x05\x04PONG\x00\x00";
        assert_eq!(
            decode_all(Limits::default(), bytes),
            Err(ProtocolError::CommandInMessage)
        );
        assert_eq!(
            decode_all(Limits::default(), b"\x05\x05\x04PONG"),
            Err(ProtocolError::CommandInMessage)
        );
    }

    #[test]
    fn reserved_flags_are_refused() {
        for flags in [0x08, 0x10, 0x80, 0xFF] {
            assert_eq!(
                decode_all(Limits::default(), &[flags, 0]),
                Err(ProtocolError::ReservedFlags(flags))
            );
        }
    }

    #[test]
    fn a_huge_header_is_refused_before_its_body() {
        // 2^62 bytes announced: refused from the 9-byte header alone.
        let header = [0x02, 0x40, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_all(Limits::default(), &header),
            Err(ProtocolError::MessageTooLarge {
                size: 1 << 62,
                max: 256 << 20
            })
        );
        let header = [0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(decode_all(Limits::default(), &header).is_err());
    }

    #[test]
    fn the_limit_counts_all_frames_of_a_message() {
        let limits = Limits {
            max_message_size: 5,
            ..Limits::default()
        };
        assert!(decode_all(limits, b"\x01\x03abc\x00\x02de").is_ok());
        assert_eq!(
            decode_all(limits, b"\x01\x03abc\x00\x03def"),
            Err(ProtocolError::MessageTooLarge { size: 6, max: 5 })
        );
        // The count starts again with each message.
        assert!(decode_all(limits, b"\x00\x05abcde\x00\x05abcde").is_ok());
    }

    #[test]
    fn frame_and_command_limits() {
        let limits = Limits {
            max_frames: 2,
            max_command_size: 6,
            ..Limits::default()
        };
        assert!(decode_all(limits, b"\x01\x00\x00\x00").is_ok());
        assert_eq!(
            decode_all(limits, b"\x01\x00\x01\x00\x00\x00"),
            Err(ProtocolError::TooManyFrames { max: 2 })
        );
        assert_eq!(
            decode_all(limits, b"\x04\x07"),
            Err(ProtocolError::CommandTooLarge { size: 7, max: 6 })
        );
    }

    #[test]
    fn bytes_arrive_one_at_a_time() {
        let bytes = b"\x01\x02hi\x02\0\0\0\0\0\0\0\x03you\x04\x05\x04PONG";
        let mut d = Decoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            while let Some(x) = d.decode(&mut buf).unwrap() {
                out.push(x);
            }
            if i + 1 < bytes.len() && out.len() < 2 {
                assert!(d.needed() >= 1);
            }
        }
        assert_eq!(
            out,
            [
                msg(&[b"hi", b"you"]),
                Inbound::Command(Command::Pong {
                    context: Bytes::new()
                })
            ]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn large_bodies_share_the_read_buffer_and_small_ones_are_copied() {
        let mut buf = BytesMut::from(&b"\x01\x05hello\x00\x06world!"[..]);
        let start = buf.as_ptr() as usize;
        let mut d = Decoder::new(Limits::default()).with_copy_limit(5);
        let Some(Inbound::Message(m)) = d.decode(&mut buf).unwrap() else {
            panic!("no message")
        };
        assert_eq!(m, [&b"hello"[..], b"world!"]);
        let inside = |f: &Bytes| (start..start + 15).contains(&(f.as_ptr() as usize));
        assert!(!inside(&m[0]), "a body at the copy limit is copied");
        assert_eq!(m[1].as_ptr() as usize, start + 9, "a larger body is shared");
    }
}
