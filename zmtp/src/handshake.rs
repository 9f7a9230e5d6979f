//! The NULL handshake as a state machine with no I/O: bytes from the peer
//! in, bytes for the peer out, the peer's [`PeerInfo`] at the end.
//!
//! The greeting goes out in three pieces, each one after the peer's bytes
//! that it answers, as libzmq sends it; that is what lets a peer that speaks
//! only ZMTP 2.0 (libzmq 3.x, JeroMQ 0.3) see our version before it reads
//! anything it cannot parse:
//!
//! ```text
//! this side                                  peer
//! signature (10)                 ───────▶
//!                                ◀───────   signature (10)
//! major version 3 (1)            ───────▶
//!                                ◀───────   its version (1)
//! ZMTP 3 peer (version 3 or later):
//!   the rest of the greeting (53) ──────▶
//!                                ◀───────   the rest of its greeting (53)
//!   READY                        ───────▶
//!                                ◀───────   READY (or ERROR)
//! ZMTP 2.0 peer (version 1):
//!   socket type (1)              ───────▶
//!                                ◀───────   socket type (1)
//!   identity message             ───────▶
//!                                ◀───────   identity message
//! ```
//!
//! READY waits for the peer's greeting, as in libzmq: a peer that refuses
//! our greeting (another mechanism) then closes with nothing of ours unread,
//! so the close is a FIN that leaves its greeting readable (a READY left
//! unread would make it a reset that loses it, and with it the reason).
//! The peer's greeting is checked as its bytes arrive; then its READY:
//! `Socket-Type` must be compatible with ours (RFC 28), `Identity` at most
//! 255 bytes, the whole command within
//! [`Limits::max_command_size`](crate::Limits). When a ZMTP 3 peer breaks
//! the protocol after its greeting, an ERROR command saying why is queued
//! for it before the caller closes (ZMTP 2.0 has no commands).
//!
//! A ZMTP 2.0 peer (RFC 15) gets what libzmq gives it: its socket type is a
//! number in the greeting's 12th byte, its identity the first message, and
//! after that frames are ZMTP 3's without commands (no heartbeats).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::decoder::COMMAND;
use crate::{
    Command, Decoder, Encoder, Error, Greeting, Inbound, Limits, Options, Properties,
    ProtocolError, SocketType, Version, GREETING_LEN, SIGNATURE_LEN, ZMTP_2_0,
};

/// The version byte of a ZMTP 2.0 greeting (its "revision").
const REVISION_2_0: u8 = 1;

/// A ZMTP 2.0 greeting: the signature, the revision, the socket type.
const GREETING_2_0_LEN: usize = SIGNATURE_LEN + 2;

/// What the peer told about itself in its greeting and READY (for a ZMTP
/// 2.0 peer: its greeting and identity message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub version: Version,
    pub socket_type: SocketType,
    /// The peer's `Identity`; `None` when absent or empty.
    pub identity: Option<Bytes>,
    /// Every READY property, `Socket-Type` and `Identity` included (a ZMTP
    /// 2.0 peer's socket type and identity under those names).
    pub properties: Properties,
}

/// Where a handshake stands: what was sent, what is awaited.
#[derive(Debug, Clone)]
enum Stage {
    /// Our signature is out; the peer's is awaited.
    Signature,
    /// Our major version is out; the peer's version byte is awaited.
    Version,
    /// ZMTP 3: the rest of our greeting is out; the rest of the peer's is
    /// awaited.
    Greeting,
    /// ZMTP 3: the peer's greeting is in, our READY out; its READY is
    /// awaited.
    Ready(Greeting),
    /// ZMTP 2.0: our socket type is out; the peer's is awaited.
    SocketType,
    /// ZMTP 2.0: our identity message is out; the peer's is awaited.
    Identity(SocketType),
}

/// One side of a NULL handshake.
///
/// ```
/// use bytes::BytesMut;
/// use plug_zmtp::{Handshake, Options, SocketType};
/// let mut dealer = Handshake::new(&Options::new(SocketType::Dealer)).unwrap();
/// let mut router = Handshake::new(&Options::new(SocketType::Router)).unwrap();
/// let (mut to_router, mut to_dealer) = (BytesMut::new(), BytesMut::new());
/// // Each side answers what it got until both are done: signatures, then
/// // versions, then the rest of the greetings, then READY.
/// let (mut router_saw, mut dealer_saw) = (None, None);
/// while router_saw.is_none() || dealer_saw.is_none() {
///     to_router.extend_from_slice(&dealer.output().split());
///     to_dealer.extend_from_slice(&router.output().split());
///     if router_saw.is_none() {
///         router_saw = router.feed(&mut to_router).unwrap();
///     }
///     if dealer_saw.is_none() {
///         dealer_saw = dealer.feed(&mut to_dealer).unwrap();
///     }
/// }
/// assert_eq!(router_saw.unwrap().socket_type, SocketType::Dealer);
/// assert_eq!(dealer_saw.unwrap().socket_type, SocketType::Router);
/// ```
#[derive(Debug)]
pub struct Handshake {
    socket_type: SocketType,
    identity: Bytes,
    limits: Limits,
    /// Our whole ZMTP 3 greeting; pieces of it go out as the peer's
    /// arrive.
    greeting: [u8; GREETING_LEN],
    output: BytesMut,
    stage: Stage,
    decoder: Decoder,
}

impl Handshake {
    /// Starts a handshake; [`Handshake::output`] holds the signature to
    /// send (the rest follows the peer's bytes).
    pub fn new(options: &Options) -> Result<Handshake, Error> {
        options.check()?;
        let mut greeting = [0u8; GREETING_LEN];
        Greeting::encode_null(&mut &mut greeting[..]);
        let mut output = BytesMut::with_capacity(GREETING_LEN + 64);
        output.put_slice(&greeting[..SIGNATURE_LEN]);
        Ok(Handshake {
            socket_type: options.socket_type,
            identity: options.identity.clone().unwrap_or_default(),
            limits: options.limits,
            greeting,
            output,
            stage: Stage::Signature,
            decoder: Decoder::new(options.limits),
        })
    }

    /// Bytes to send to the peer: the signature at first, then each piece
    /// of the greeting, READY (or the ZMTP 2.0 identity message) as
    /// [`Handshake::feed`] sees the peer's bytes it answers, an ERROR after
    /// a refusal. The caller takes them (`split`) or `advance`s past what
    /// it wrote, after every `feed`.
    pub fn output(&mut self) -> &mut BytesMut {
        &mut self.output
    }

    /// The peer's ZMTP 3 greeting, once it is complete.
    pub fn greeting(&self) -> Option<&Greeting> {
        match &self.stage {
            Stage::Ready(g) => Some(g),
            _ => None,
        }
    }

    /// Whether the peer's greeting is still incomplete (a peer that closes
    /// now probably refused ours).
    pub fn in_greeting(&self) -> bool {
        matches!(
            self.stage,
            Stage::Signature | Stage::Version | Stage::Greeting | Stage::SocketType
        )
    }

    /// Consumes the peer's bytes from the front of `input`. `Ok(None)`: more
    /// bytes are needed. `Ok(Some(peer))`: done; whatever follows READY (or
    /// the identity message) in `input` is the first traffic and stays
    /// there. On an error after a ZMTP 3 peer's greeting,
    /// [`Handshake::output`] ends with an ERROR command for the peer.
    pub fn feed(&mut self, input: &mut BytesMut) -> Result<Option<PeerInfo>, Error> {
        let result = self.step(input);
        if let Err(Error::Protocol(e)) = &result {
            if self.greeting().is_some() {
                let mut encoder = Encoder::default();
                encoder.command(&Command::Error {
                    reason: Bytes::from(e.to_string()),
                });
                let n = encoder.remaining();
                self.output.extend_from_slice(&encoder.copy_to_bytes(n));
            }
        }
        result
    }

    fn step(&mut self, input: &mut BytesMut) -> Result<Option<PeerInfo>, Error> {
        if let Stage::Signature = self.stage {
            Greeting::parse(&input[..input.len().min(SIGNATURE_LEN)])?;
            if input.len() < SIGNATURE_LEN {
                return Ok(None);
            }
            self.output
                .put_slice(&self.greeting[SIGNATURE_LEN..=SIGNATURE_LEN]);
            self.stage = Stage::Version;
        }
        if let Stage::Version = self.stage {
            let Some(&version) = input.get(SIGNATURE_LEN) else {
                return Ok(None);
            };
            if version == REVISION_2_0 {
                self.output.put_u8(self.socket_type.number());
                self.stage = Stage::SocketType;
            } else {
                Greeting::parse(&input[..=SIGNATURE_LEN])?;
                self.output.put_slice(&self.greeting[SIGNATURE_LEN + 1..]);
                self.stage = Stage::Greeting;
            }
        }
        match self.stage.clone() {
            Stage::Signature | Stage::Version => unreachable!("handled above"),
            Stage::Greeting => {
                let Some(greeting) = Greeting::parse(&input[..input.len().min(GREETING_LEN)])?
                else {
                    return Ok(None);
                };
                input.advance(GREETING_LEN);
                self.output.put_slice(&self.ready()?);
                self.stage = Stage::Ready(greeting.clone());
                self.read_ready(input, greeting.version)
            }
            Stage::Ready(greeting) => self.read_ready(input, greeting.version),
            Stage::SocketType => {
                let Some(&number) = input.get(GREETING_2_0_LEN - 1) else {
                    return Ok(None);
                };
                let theirs = SocketType::from_number(number)?;
                self.check_peer(theirs)?;
                input.advance(GREETING_2_0_LEN);
                let mut encoder = Encoder::default();
                encoder.message([self.identity.clone()])?;
                let n = encoder.remaining();
                self.output.put(encoder.copy_to_bytes(n));
                // The identity is the only thing read before traffic: a
                // header announcing more than an identity can hold is
                // refused before its body arrives.
                let identity_limits = Limits {
                    max_message_size: 255,
                    max_frames: 1,
                    ..self.limits
                };
                self.decoder = Decoder::for_version(identity_limits, ZMTP_2_0);
                self.stage = Stage::Identity(theirs);
                self.read_identity(input, theirs)
            }
            Stage::Identity(theirs) => self.read_identity(input, theirs),
        }
    }

    /// Our READY: `Socket-Type`, and an empty `Identity` when none is set,
    /// as libzmq sends.
    fn ready(&self) -> Result<Bytes, Error> {
        let mut props = Properties::new();
        props.push(
            "Socket-Type",
            Bytes::from_static(self.socket_type.name().as_bytes()),
        )?;
        if matches!(
            self.socket_type,
            SocketType::Dealer | SocketType::Router | SocketType::Req
        ) {
            props.push("Identity", self.identity.clone())?;
        }
        let mut encoder = Encoder::default();
        encoder.command(&Command::Ready(props));
        Ok(encoder.copy_to_bytes(encoder.remaining()))
    }

    fn check_peer(&self, theirs: SocketType) -> Result<(), ProtocolError> {
        if self.socket_type.accepts(theirs) {
            Ok(())
        } else {
            Err(ProtocolError::SocketTypeMismatch {
                ours: self.socket_type,
                theirs,
            })
        }
    }

    fn read_ready(
        &mut self,
        input: &mut BytesMut,
        version: Version,
    ) -> Result<Option<PeerInfo>, Error> {
        if let Some(&flags) = input.first() {
            if flags & COMMAND == 0 {
                return Err(unexpected("a message").into());
            }
        }
        let props = match self.decoder.decode(input)? {
            None => return Ok(None),
            Some(Inbound::Command(Command::Ready(props))) => props,
            Some(Inbound::Command(Command::Error { reason })) => {
                return Err(Error::Refused {
                    reason: String::from_utf8_lossy(&reason).into_owned(),
                })
            }
            Some(Inbound::Command(c)) => return Err(unexpected(&c.name()).into()),
            Some(Inbound::Message(_)) => return Err(unexpected("a message").into()),
        };
        let theirs = SocketType::from_name(
            props
                .get("Socket-Type")
                .ok_or(ProtocolError::MissingSocketType)?,
        )?;
        self.check_peer(theirs)?;
        let identity = match props.get("Identity") {
            Some(id) if id.len() > 255 => {
                return Err(ProtocolError::IdentityTooLong(id.len()).into())
            }
            Some(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
        Ok(Some(PeerInfo {
            version,
            socket_type: theirs,
            identity,
            properties: props,
        }))
    }

    fn read_identity(
        &mut self,
        input: &mut BytesMut,
        theirs: SocketType,
    ) -> Result<Option<PeerInfo>, Error> {
        let frames = match self.decoder.decode(input) {
            Ok(None) => return Ok(None),
            Ok(Some(Inbound::Message(frames))) => frames,
            Ok(Some(Inbound::Command(_))) => unreachable!("ZMTP 2.0 has no commands"),
            Err(ProtocolError::MessageTooLarge { size, .. }) => {
                return Err(ProtocolError::IdentityTooLong(size as usize).into())
            }
            Err(ProtocolError::TooManyFrames { .. }) => {
                return Err(ProtocolError::Unexpected {
                    got: "a multipart message".to_owned(),
                    phase: "ZMTP 2.0 handshake (an identity expected)",
                }
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        let identity = frames.into_iter().next().unwrap_or_default();
        let mut properties = Properties::new();
        properties.push("Socket-Type", Bytes::from_static(theirs.name().as_bytes()))?;
        properties.push("Identity", identity.clone())?;
        Ok(Some(PeerInfo {
            version: ZMTP_2_0,
            socket_type: theirs,
            identity: (!identity.is_empty()).then_some(identity),
            properties,
        }))
    }
}

fn unexpected(got: &str) -> ProtocolError {
    ProtocolError::Unexpected {
        got: got.to_owned(),
        phase: "handshake (READY expected)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting() -> Vec<u8> {
        let mut g = Vec::new();
        Greeting::encode_null(&mut g);
        g
    }

    fn ready(props: &[(&str, &[u8])]) -> Vec<u8> {
        let mut p = Properties::new();
        for (n, v) in props {
            p.push(n, Bytes::copy_from_slice(v)).unwrap();
        }
        let mut e = crate::Encoder::default();
        e.command(&Command::Ready(p));
        e.copy_to_bytes(e.remaining()).to_vec()
    }

    /// Feeds `bytes` one at a time until the handshake is done, then the
    /// rest: the peer, the bytes left in the input, everything sent.
    fn byte_by_byte(h: &mut Handshake, bytes: Vec<u8>) -> (PeerInfo, BytesMut, Vec<u8>) {
        let mut sent = h.output().split().to_vec();
        let mut input = BytesMut::new();
        let mut peer = None;
        for b in bytes {
            input.extend_from_slice(&[b]);
            if peer.is_none() {
                peer = h.feed(&mut input).unwrap();
            }
            sent.extend_from_slice(&h.output().split());
        }
        (peer.expect("done"), input, sent)
    }

    fn dealer() -> Handshake {
        Handshake::new(&Options::new(SocketType::Dealer)).unwrap()
    }

    #[test]
    fn our_greeting_goes_out_piece_by_piece_as_the_peers_arrives() {
        let mut h = Handshake::new(&Options::new(SocketType::Dealer).identity("me")).unwrap();
        let ours = greeting();
        assert_eq!(&h.output().split()[..], &ours[..10], "the signature first");
        let mut input = BytesMut::from(&ours[..9]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert!(
            h.output().is_empty(),
            "the version before the peer's signature"
        );
        input.extend_from_slice(&ours[9..10]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert_eq!(&h.output().split()[..], &ours[10..11], "the major version");
        input.extend_from_slice(&ours[10..11]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert_eq!(&h.output().split()[..], &ours[11..], "the rest of it");
        input.extend_from_slice(&ours[11..63]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert!(h.output().is_empty(), "READY before the peer's greeting");
        assert!(h.in_greeting());
        input.extend_from_slice(&ours[63..]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert!(!h.in_greeting());
        assert_eq!(
            &h.output()[..],
            b"\x04\x2b\x05READY\x0bSocket-Type\0\0\0\x06DEALER\x08Identity\0\0\0\x02me"
        );
    }

    /// A ZMTP 2.0 greeting (RFC 15): signature, revision 1, socket type.
    fn greeting_2_0(socket_type: u8) -> Vec<u8> {
        let mut g = greeting()[..10].to_vec();
        g.extend_from_slice(&[1, socket_type]);
        g
    }

    #[test]
    fn a_zmtp_2_0_router_gets_our_socket_type_and_identity_then_traffic() {
        let mut h = Handshake::new(&Options::new(SocketType::Dealer).identity("me")).unwrap();
        let mut bytes = greeting_2_0(6);
        bytes.extend_from_slice(b"\x00\x00"); // its identity: empty
        bytes.extend_from_slice(b"\x01\x00\x00\x02hi"); // then a message
        let (peer, input, sent) = byte_by_byte(&mut h, bytes);
        assert_eq!(peer.version, crate::ZMTP_2_0);
        assert!(!peer.version.has_heartbeats());
        assert_eq!(peer.socket_type, SocketType::Router);
        assert_eq!(peer.identity, None);
        assert_eq!(&input[..], b"\x01\x00\x00\x02hi", "traffic stays");
        // Signature, major version 3, DEALER (5), the identity message:
        // the 12 bytes and the message a ZMTP 2.0 peer reads, nothing else.
        let mut want = greeting()[..11].to_vec();
        want.extend_from_slice(b"\x05\x00\x02me");
        assert_eq!(sent, want);
    }

    #[test]
    fn a_zmtp_2_0_dealers_identity() {
        let mut bytes = greeting_2_0(5);
        bytes.extend_from_slice(b"\x00\x06peer-1");
        let mut h = Handshake::new(&Options::new(SocketType::Router)).unwrap();
        let peer = h.feed(&mut BytesMut::from(&bytes[..])).unwrap().unwrap();
        assert_eq!(peer.socket_type, SocketType::Dealer);
        assert_eq!(peer.identity.as_deref(), Some(&b"peer-1"[..]));
        assert_eq!(
            peer.properties.get("Socket-Type").map(|v| &v[..]),
            Some(&b"DEALER"[..])
        );
    }

    #[test]
    fn zmtp_2_0_refusals_send_no_error_command() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (greeting_2_0(3), "cannot talk to a REQ peer"),
            (greeting_2_0(11), "number 11"),
            (
                [greeting_2_0(6), b"\x01\x00\x00\x00".to_vec()].concat(),
                "a multipart message",
            ),
            (
                [greeting_2_0(6), b"\x02\0\0\0\0\0\0\x01\x00".to_vec()].concat(),
                "Identity has 256 bytes",
            ),
            (
                [greeting_2_0(6), b"\x04\x05\x04PING".to_vec()].concat(),
                "reserved bits",
            ),
        ];
        for (bytes, want) in cases {
            let mut h = dealer();
            let err = h.feed(&mut BytesMut::from(&bytes[..])).unwrap_err();
            assert!(err.to_string().contains(want), "{err} lacks {want}");
            let out = h.output().split();
            assert!(!out.windows(6).any(|w| w == b"\x05ERROR"), "{err}");
        }
    }

    #[test]
    fn a_zmtp_1_0_peer_is_refused_at_its_version() {
        let mut bytes = greeting()[..10].to_vec();
        bytes.push(0);
        let err = dealer().feed(&mut BytesMut::from(&bytes[..])).unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::Version { major: 1 })),
            "{err}"
        );
    }

    #[test]
    fn a_router_peer_byte_by_byte_then_traffic() {
        let mut bytes = greeting();
        bytes.extend(ready(&[
            ("Socket-Type", b"ROUTER"),
            ("Identity", b""),
            ("X-Extra", b"v"),
        ]));
        bytes.extend_from_slice(b"\x00\x02hi");
        let (peer, input, _) = byte_by_byte(&mut dealer(), bytes);
        assert_eq!(peer.socket_type, SocketType::Router);
        assert_eq!(peer.identity, None);
        assert_eq!(peer.version, Version { major: 3, minor: 1 });
        assert_eq!(
            peer.properties.get("x-extra").map(|v| &v[..]),
            Some(&b"v"[..])
        );
        assert_eq!(&input[..], b"\x00\x02hi", "traffic after READY stays");
    }

    #[test]
    fn the_peers_identity() {
        let mut bytes = greeting();
        bytes.extend(ready(&[
            ("Socket-Type", b"DEALER"),
            ("Identity", b"peer-1"),
        ]));
        let mut h = Handshake::new(&Options::new(SocketType::Router)).unwrap();
        let peer = h.feed(&mut BytesMut::from(&bytes[..])).unwrap().unwrap();
        assert_eq!(peer.identity.as_deref(), Some(&b"peer-1"[..]));
    }

    #[test]
    fn an_incompatible_peer_is_refused_with_an_error_command() {
        let mut bytes = greeting();
        bytes.extend(ready(&[("Socket-Type", b"REQ")]));
        let mut h = dealer();
        let err = h.feed(&mut BytesMut::from(&bytes[..])).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::SocketTypeMismatch {
                    ours: SocketType::Dealer,
                    theirs: SocketType::Req
                })
            ),
            "{err}"
        );
        // After our greeting and READY: the ERROR, with the reason.
        let out = h.output().split();
        let error = &out[out.len() - 50..];
        assert_eq!(&error[..9], b"\x04\x30\x05ERROR\x29");
        assert!(error.ends_with(b"a DEALER socket cannot talk to a REQ peer"));
    }

    #[test]
    fn refusals() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (ready(&[("Identity", b"")]), "no Socket-Type"),
            (
                ready(&[("Socket-Type", b"SERVER")]),
                "\"SERVER\" is unknown",
            ),
            (
                ready(&[("Socket-Type", b"ROUTER"), ("Identity", &[b'i'; 256])]),
                "256 bytes",
            ),
            (b"\x00\x01x".to_vec(), "unexpected a message"),
            (b"\x04\x06\x04PONG\0\0".to_vec(), "unexpected PONG"),
        ];
        for (after, want) in cases {
            let mut bytes = greeting();
            bytes.extend(after);
            let err = dealer().feed(&mut BytesMut::from(&bytes[..])).unwrap_err();
            assert!(err.to_string().contains(want), "{err} lacks {want}");
        }
    }

    #[test]
    fn the_peers_error_command_is_a_refusal() {
        let mut bytes = greeting();
        bytes.extend_from_slice(b"\x04\x0a\x05ERROR\x03bye");
        let err = dealer().feed(&mut BytesMut::from(&bytes[..])).unwrap_err();
        assert!(
            matches!(&err, Error::Refused { reason } if reason == "bye"),
            "{err}"
        );
    }

    #[test]
    fn a_huge_ready_is_refused_from_its_header() {
        let mut bytes = greeting();
        bytes.extend_from_slice(&[0x06, 0, 0, 0, 0, 0x10, 0, 0, 0]);
        let err = dealer().feed(&mut BytesMut::from(&bytes[..])).unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::CommandTooLarge { .. })),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_refused_without_an_error_command() {
        let mut h = dealer();
        let sent = h.output().len();
        let err = h
            .feed(&mut BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]))
            .unwrap_err();
        assert!(err.to_string().contains("not a ZMTP peer"), "{err}");
        assert_eq!(h.output().len(), sent);
    }
}
