//! The 64-byte greeting that opens every ZMTP 3 connection (RFC 23, RFC 37).
//!
//! ```text
//! offset  size  field
//!      0     1  0xFF                signature
//!      1     8  padding (any)
//!      9     1  0x7F
//!     10     1  major version       3
//!     11     1  minor version       1 (3.0 peers send 0)
//!     12    20  mechanism           "NULL", zero-padded
//!     32     1  as-server           0 or 1
//!     33    31  filler              zeros
//! ```
//!
//! A greeting arrives in pieces (libzmq sends the signature, then its major
//! version once the peer's signature is in, then the rest once the peer's
//! version is in), so [`Greeting::parse`] looks at what is there and
//! refuses a bad peer as early as its bytes allow. A ZMTP 2.0 peer's
//! greeting (RFC 15) shares the signature and ends after two more bytes:
//! version 1 and a socket type; the [`Handshake`](crate::Handshake) tells the
//! two apart by the version byte.

use bytes::BufMut;

use crate::ProtocolError;

/// Length of a ZMTP 3 greeting.
pub const GREETING_LEN: usize = 64;

/// Length of the signature that opens every greeting since ZMTP 2.0.
pub const SIGNATURE_LEN: usize = 10;

/// The version this crate sends.
pub const VERSION: Version = Version { major: 3, minor: 1 };

/// The version of a ZMTP 2.0 peer (libzmq 3.x, JeroMQ 0.3), which this
/// crate also speaks.
pub const ZMTP_2_0: Version = Version { major: 2, minor: 0 };

/// A ZMTP version from a greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    /// Whether the peer knows PING and PONG (ZMTP 3.1 and later).
    pub fn has_heartbeats(self) -> bool {
        self >= VERSION
    }

    /// Whether the peer knows commands at all (ZMTP 3.0 and later).
    pub fn has_commands(self) -> bool {
        self.major >= 3
    }
}

/// The fields of a peer's greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub version: Version,
    /// The mechanism's name, e.g. `"NULL"` or `"CURVE"`.
    pub mechanism: String,
    pub as_server: bool,
}

impl Greeting {
    /// Appends this crate's greeting: ZMTP 3.1, NULL, `as-server` 0 (the
    /// field means nothing for NULL).
    ///
    /// ```
    /// let mut out = bytes::BytesMut::new();
    /// plug_zmtp::Greeting::encode_null(&mut out);
    /// assert_eq!(out.len(), 64);
    /// assert_eq!(&out[10..16], b"\x03\x01NULL");
    /// ```
    pub fn encode_null(out: &mut impl BufMut) {
        let mut g = [0u8; GREETING_LEN];
        g[0] = 0xFF;
        // libzmq's padding: a ZMTP 1.0 identity length of 1, so that a
        // 1.0 peer reads an empty identity.
        g[8] = 1;
        g[9] = 0x7F;
        g[10] = VERSION.major;
        g[11] = VERSION.minor;
        g[12..16].copy_from_slice(b"NULL");
        out.put_slice(&g);
    }

    /// Checks the first bytes of a peer's greeting (`data` may be shorter
    /// or longer than 64 bytes; only the first 64 are read). Returns the
    /// greeting once all 64 bytes are there and acceptable, `None` while
    /// bytes are missing and nothing is wrong yet.
    ///
    /// Refused: a wrong signature, a major version below 3 (the handshake
    /// takes a ZMTP 2.0 peer aside before it gets here), and any mechanism
    /// but NULL.
    pub fn parse(data: &[u8]) -> Result<Option<Greeting>, ProtocolError> {
        if let Some(&b) = data.first() {
            if b != 0xFF {
                return Err(ProtocolError::Signature { at: 0, got: b });
            }
        }
        if let Some(&b) = data.get(9) {
            // libzmq reads bit 0 clear as an unversioned (ZMTP 1.0) peer.
            if b & 1 == 0 {
                return Err(ProtocolError::Version { major: 1 });
            }
            if b != 0x7F {
                return Err(ProtocolError::Signature { at: 9, got: b });
            }
        }
        match data.get(SIGNATURE_LEN) {
            // The version byte counts from 0 for ZMTP 1.0 ("revision").
            Some(&revision @ (0 | 1)) => {
                return Err(ProtocolError::Version {
                    major: revision + 1,
                })
            }
            Some(&got @ 2) => return Err(ProtocolError::Signature { at: 10, got }),
            _ => {}
        }
        if data.len() < GREETING_LEN {
            return Ok(None);
        }
        let field = &data[12..32];
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        let name = &field[..end];
        if name != b"NULL" {
            return Err(ProtocolError::Mechanism(
                String::from_utf8_lossy(name).escape_debug().to_string(),
            ));
        }
        Ok(Some(Greeting {
            version: Version {
                major: data[10],
                minor: data[11],
            },
            mechanism: "NULL".to_owned(),
            as_server: data[32] != 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<u8> {
        let mut out = Vec::new();
        Greeting::encode_null(&mut out);
        out
    }

    #[test]
    fn our_greeting_byte_by_byte() {
        let mut want = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
        want.extend_from_slice(b"NULL");
        want.resize(64, 0);
        assert_eq!(ours(), want);
    }

    #[test]
    fn parses_in_any_number_of_pieces() {
        let g = ours();
        for n in 0..GREETING_LEN {
            assert_eq!(Greeting::parse(&g[..n]), Ok(None), "{n} bytes");
        }
        let got = Greeting::parse(&g).unwrap().unwrap();
        assert_eq!(got.version, Version { major: 3, minor: 1 });
        assert_eq!(got.mechanism, "NULL");
        assert!(!got.as_server);
    }

    #[test]
    fn accepts_3_0_and_later() {
        let mut g = ours();
        g[11] = 0;
        let v = Greeting::parse(&g).unwrap().unwrap().version;
        assert!(!v.has_heartbeats());
        g[10] = 4;
        assert!(Greeting::parse(&g)
            .unwrap()
            .unwrap()
            .version
            .has_heartbeats());
    }

    #[test]
    fn refuses_garbage_at_the_first_byte() {
        assert_eq!(
            Greeting::parse(b"G"),
            Err(ProtocolError::Signature { at: 0, got: b'G' })
        );
    }

    #[test]
    fn refuses_old_versions_without_waiting_for_the_rest() {
        // ZMTP 2.0 (libzmq 3.x): major field 1.
        let mut g = ours();
        g[10] = 1;
        assert_eq!(
            Greeting::parse(&g[..11]),
            Err(ProtocolError::Version { major: 2 })
        );
        // No version 2 ever existed.
        g[10] = 2;
        assert_eq!(
            Greeting::parse(&g[..11]),
            Err(ProtocolError::Signature { at: 10, got: 2 })
        );
        // ZMTP 1.0: no 0x7F, an identity frame's flags instead.
        g[9] = 0;
        assert_eq!(
            Greeting::parse(&g[..10]),
            Err(ProtocolError::Version { major: 1 })
        );
    }

    #[test]
    fn refuses_other_mechanisms_by_name() {
        for name in [&b"CURVE"[..], b"PLAIN", b"GSSAPI", b"X\xff"] {
            let mut g = ours();
            g[12..32].fill(0);
            g[12..12 + name.len()].copy_from_slice(name);
            let err = Greeting::parse(&g).unwrap_err();
            assert!(matches!(err, ProtocolError::Mechanism(_)), "{err}");
            assert!(err
                .to_string()
                .contains("not supported by the native transport"));
        }
    }
}
