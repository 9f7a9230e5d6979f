//! The NULL handshake as a state machine with no I/O: bytes from the peer
//! in, bytes for the peer out, the peer's [`PeerInfo`] at the end.
//!
//! ```text
//! this side                          peer
//! greeting (64)          ───────▶
//!                        ◀───────   greeting (64)
//! READY                  ───────▶
//!                        ◀───────   READY (or ERROR)
//! ```
//!
//! READY waits for the peer's greeting, as in libzmq: a peer that refuses
//! our greeting (another mechanism) then closes with nothing of ours unread,
//! so the close is a FIN that leaves its greeting readable (a READY left
//! unread would make it a reset that loses it, and with it the reason).
//! The peer's greeting is checked as its bytes arrive; then its READY: `Socket-Type` must be compatible with
//! ours (RFC 28), `Identity` at most 255 bytes, the whole command within
//! [`Limits::max_command_size`](crate::Limits). When the peer breaks the
//! protocol after its greeting, an ERROR command saying why is queued for it
//! before the caller closes.

use bytes::{Buf, Bytes, BytesMut};

use crate::decoder::COMMAND;
use crate::{
    Command, Decoder, Error, Greeting, Inbound, Options, Properties, ProtocolError, SocketType,
    Version, GREETING_LEN,
};

/// What the peer told about itself in its greeting and READY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub version: Version,
    pub socket_type: SocketType,
    /// The peer's `Identity`; `None` when absent or empty.
    pub identity: Option<Bytes>,
    /// Every READY property, `Socket-Type` and `Identity` included.
    pub properties: Properties,
}

/// One side of a NULL handshake.
///
/// ```
/// use bytes::BytesMut;
/// use plug_zmtp::{Handshake, Options, SocketType};
/// let mut dealer = Handshake::new(&Options::new(SocketType::Dealer)).unwrap();
/// let mut router = Handshake::new(&Options::new(SocketType::Router)).unwrap();
/// // Greetings cross; each side's READY follows the peer's greeting.
/// let mut to_router = dealer.output().split();
/// let mut to_dealer = router.output().split();
/// assert_eq!(router.feed(&mut to_router).unwrap(), None);
/// assert_eq!(dealer.feed(&mut to_dealer).unwrap(), None);
/// to_router.extend_from_slice(&dealer.output().split());
/// to_dealer.extend_from_slice(&router.output().split());
/// let peer = router.feed(&mut to_router).unwrap().unwrap();
/// assert_eq!(peer.socket_type, SocketType::Dealer);
/// let peer = dealer.feed(&mut to_dealer).unwrap().unwrap();
/// assert_eq!(peer.socket_type, SocketType::Router);
/// ```
#[derive(Debug)]
pub struct Handshake {
    socket_type: SocketType,
    output: BytesMut,
    ready: Option<Bytes>,
    greeting: Option<Greeting>,
    decoder: Decoder,
}

impl Handshake {
    /// Starts a handshake; [`Handshake::output`] holds the greeting to
    /// send (READY joins it once the peer's greeting is in).
    pub fn new(options: &Options) -> Result<Handshake, Error> {
        options.check()?;
        let mut output = BytesMut::with_capacity(GREETING_LEN + 64);
        Greeting::encode_null(&mut output);
        let mut props = Properties::new();
        props.push(
            "Socket-Type",
            Bytes::from_static(options.socket_type.name().as_bytes()),
        )?;
        if matches!(
            options.socket_type,
            SocketType::Dealer | SocketType::Router | SocketType::Req
        ) {
            // As libzmq does: an empty Identity when none is set.
            props.push("Identity", options.identity.clone().unwrap_or_default())?;
        }
        let mut encoder = crate::Encoder::default();
        encoder.command(&Command::Ready(props));
        let ready = encoder.copy_to_bytes(encoder.remaining());
        Ok(Handshake {
            socket_type: options.socket_type,
            output,
            ready: Some(ready),
            greeting: None,
            decoder: Decoder::new(options.limits),
        })
    }

    /// Bytes to send to the peer: the greeting at first, READY after
    /// [`Handshake::feed`] saw the peer's greeting, an ERROR after a
    /// refusal. The caller takes them (`split`) or `advance`s past what it
    /// wrote, after every `feed`.
    pub fn output(&mut self) -> &mut BytesMut {
        &mut self.output
    }

    /// The peer's greeting, once it is complete.
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// Consumes the peer's bytes from the front of `input`. `Ok(None)`: more
    /// bytes are needed. `Ok(Some(peer))`: done; whatever follows READY in
    /// `input` is the first traffic and stays there. On an error after the
    /// peer's greeting, [`Handshake::output`] ends with an ERROR command for
    /// the peer.
    pub fn feed(&mut self, input: &mut BytesMut) -> Result<Option<PeerInfo>, Error> {
        let result = self.step(input);
        if let Err(Error::Protocol(e)) = &result {
            if self.greeting.is_some() {
                let mut encoder = crate::Encoder::default();
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
        let greeting = match &self.greeting {
            Some(g) => g.clone(),
            None => match Greeting::parse(&input[..input.len().min(GREETING_LEN)])? {
                None => return Ok(None),
                Some(g) => {
                    input.advance(GREETING_LEN);
                    self.greeting = Some(g.clone());
                    let ready = self.ready.take().expect("READY is sent once");
                    self.output.extend_from_slice(&ready);
                    g
                }
            },
        };
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
        if !self.socket_type.accepts(theirs) {
            return Err(ProtocolError::SocketTypeMismatch {
                ours: self.socket_type,
                theirs,
            }
            .into());
        }
        let identity = match props.get("Identity") {
            Some(id) if id.len() > 255 => {
                return Err(ProtocolError::IdentityTooLong(id.len()).into())
            }
            Some(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
        Ok(Some(PeerInfo {
            version: greeting.version,
            socket_type: theirs,
            identity,
            properties: props,
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

    fn dealer() -> Handshake {
        Handshake::new(&Options::new(SocketType::Dealer)).unwrap()
    }

    #[test]
    fn our_output_is_greeting_then_ready_after_the_peers_greeting() {
        let mut h = Handshake::new(&Options::new(SocketType::Dealer).identity("me")).unwrap();
        assert_eq!(&h.output().split()[..], &greeting()[..]);
        let mut input = BytesMut::from(&greeting()[..63]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert!(h.output().is_empty(), "READY before the peer's greeting");
        input.extend_from_slice(&greeting()[63..]);
        assert_eq!(h.feed(&mut input).unwrap(), None);
        assert_eq!(
            &h.output()[..],
            b"\x04\x2b\x05READY\x0bSocket-Type\0\0\0\x06DEALER\x08Identity\0\0\0\x02me"
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
        let mut h = dealer();
        let mut input = BytesMut::new();
        let mut peer = None;
        for b in bytes {
            input.extend_from_slice(&[b]);
            if peer.is_none() {
                peer = h.feed(&mut input).unwrap();
            }
        }
        let peer = peer.expect("done");
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
