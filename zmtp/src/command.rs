//! ZMTP commands: the body of a frame with the COMMAND flag (RFC 23, RFC 37).
//!
//! ```text
//! command  = name-size name data        name-size: 1 byte
//! READY    = "\x05READY" *property
//! property = name-size name value-size value   value-size: 4 bytes, big-endian
//! ERROR    = "\x05ERROR" reason-size reason    reason-size: 1 byte
//! PING     = "\x04PING" ttl context            ttl: 2 bytes (tenths of a second)
//! PONG     = "\x04PONG" context                context: 0 to 16 bytes
//! ```
//!
//! Values are `Bytes` sliced from the frame, never copied.

use bytes::{BufMut, Bytes};

use crate::ProtocolError;

/// Longest PING context ZMTP 3.1 allows.
pub const MAX_PING_CONTEXT: usize = 16;

/// A decoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// The end of the peer's NULL handshake, with its metadata.
    Ready(Properties),
    /// The peer refuses the connection and will close it.
    Error { reason: Bytes },
    /// A heartbeat: answer with PONG carrying `context`. `ttl` (tenths of a
    /// second, 0 for none) is how long the peer waits for traffic before it
    /// closes the connection.
    Ping { ttl: u16, context: Bytes },
    /// The answer to a PING.
    Pong { context: Bytes },
    /// A command this crate does not know (SUBSCRIBE, a future one...).
    /// Surfaced, not fatal.
    Unknown { name: Bytes, data: Bytes },
}

impl Command {
    /// The command's name, for logs and errors.
    pub fn name(&self) -> String {
        match self {
            Command::Ready(_) => "READY".to_owned(),
            Command::Error { .. } => "ERROR".to_owned(),
            Command::Ping { .. } => "PING".to_owned(),
            Command::Pong { .. } => "PONG".to_owned(),
            Command::Unknown { name, .. } => String::from_utf8_lossy(name).into_owned(),
        }
    }

    /// Reads a command frame's body.
    pub fn parse(mut body: Bytes) -> Result<Command, ProtocolError> {
        let malformed = |command, reason| ProtocolError::MalformedCommand { command, reason };
        let Some(&n) = body.first() else {
            return Err(malformed("empty", "no name"));
        };
        let n = n as usize;
        if body.len() < 1 + n {
            return Err(malformed("unnamed", "the name runs past the frame"));
        }
        let data = body.split_off(1 + n);
        let name = body.slice(1..);
        Ok(match &name[..] {
            b"READY" => Command::Ready(Properties::parse(data)?),
            b"ERROR" => {
                let Some(&len) = data.first() else {
                    return Err(malformed("ERROR", "no reason size"));
                };
                if data.len() != 1 + len as usize {
                    return Err(malformed("ERROR", "the reason size does not match"));
                }
                Command::Error {
                    reason: data.slice(1..),
                }
            }
            b"PING" => {
                if data.len() < 2 {
                    return Err(malformed("PING", "no TTL"));
                }
                if data.len() > 2 + MAX_PING_CONTEXT {
                    return Err(malformed("PING", "context over 16 bytes"));
                }
                Command::Ping {
                    ttl: u16::from_be_bytes([data[0], data[1]]),
                    context: data.slice(2..),
                }
            }
            b"PONG" => {
                if data.len() > MAX_PING_CONTEXT {
                    return Err(malformed("PONG", "context over 16 bytes"));
                }
                Command::Pong { context: data }
            }
            _ => Command::Unknown { name, data },
        })
    }

    /// Appends the command's body (without frame header).
    pub fn encode_body(&self, out: &mut impl BufMut) {
        match self {
            Command::Ready(props) => {
                out.put_slice(b"\x05READY");
                for (name, value) in props.iter() {
                    out.put_u8(name.len() as u8);
                    out.put_slice(name.as_bytes());
                    out.put_u32(value.len() as u32);
                    out.put_slice(value);
                }
            }
            Command::Error { reason } => {
                out.put_slice(b"\x05ERROR");
                let reason = &reason[..reason.len().min(255)];
                out.put_u8(reason.len() as u8);
                out.put_slice(reason);
            }
            Command::Ping { ttl, context } => {
                out.put_slice(b"\x04PING");
                out.put_u16(*ttl);
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Pong { context } => {
                out.put_slice(b"\x04PONG");
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Unknown { name, data } => {
                let name = &name[..name.len().min(255)];
                out.put_u8(name.len() as u8);
                out.put_slice(name);
                out.put_slice(data);
            }
        }
    }

    /// Length of [`Command::encode_body`]'s output.
    pub fn body_len(&self) -> usize {
        match self {
            Command::Ready(props) => {
                6 + props
                    .iter()
                    .map(|(n, v)| 1 + n.len() + 4 + v.len())
                    .sum::<usize>()
            }
            Command::Error { reason } => 7 + reason.len().min(255),
            Command::Ping { context, .. } => 7 + context.len().min(MAX_PING_CONTEXT),
            Command::Pong { context } => 5 + context.len().min(MAX_PING_CONTEXT),
            Command::Unknown { name, data } => 1 + name.len().min(255) + data.len(),
        }
    }
}

/// READY metadata: name/value pairs in the peer's order. Names are ASCII
/// and compared without case (RFC 23); values are any bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(String, Bytes)>);

impl Properties {
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Adds a property. Names longer than 255 bytes or with characters
    /// outside `A-Z a-z 0-9 - _ . +` are refused.
    pub fn push(&mut self, name: &str, value: Bytes) -> Result<(), ProtocolError> {
        if !valid_name(name.as_bytes()) {
            return Err(ProtocolError::MalformedCommand {
                command: "READY",
                reason: "a property name is empty, over 255 bytes or has a character outside A-Z a-z 0-9 - _ . +",
            });
        }
        self.0.push((name.to_owned(), value));
        Ok(())
    }

    /// The value of the first property called `name` (any case).
    ///
    /// ```
    /// let mut p = plug_zmtp::Properties::new();
    /// p.push("Socket-Type", "DEALER".into()).unwrap();
    /// assert_eq!(p.get("socket-type").unwrap().as_ref(), b"DEALER");
    /// ```
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn parse(mut data: Bytes) -> Result<Properties, ProtocolError> {
        let malformed = |reason| ProtocolError::MalformedCommand {
            command: "READY",
            reason,
        };
        let mut props = Vec::new();
        while !data.is_empty() {
            let n = data[0] as usize;
            if data.len() < 1 + n + 4 {
                return Err(malformed("a property runs past the frame"));
            }
            let name = &data[1..1 + n];
            if !valid_name(name) {
                return Err(malformed(
                    "a property name is empty or has a character outside A-Z a-z 0-9 - _ . +",
                ));
            }
            let name = String::from_utf8(name.to_vec()).expect("checked ASCII");
            let size = u32::from_be_bytes(data[1 + n..5 + n].try_into().expect("4 bytes")) as usize;
            let start = 5 + n;
            if data.len() - start < size {
                return Err(malformed("a property value runs past the frame"));
            }
            let value = data.slice(start..start + size);
            data = data.split_off(start + size);
            props.push((name, value));
        }
        Ok(Properties(props))
    }
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(c: &Command) -> Vec<u8> {
        let mut out = Vec::new();
        c.encode_body(&mut out);
        assert_eq!(out.len(), c.body_len());
        out
    }

    #[test]
    fn ready_bytes() {
        let mut p = Properties::new();
        p.push("Socket-Type", Bytes::from_static(b"DEALER"))
            .unwrap();
        p.push("Identity", Bytes::from_static(b"")).unwrap();
        let c = Command::Ready(p);
        let want = b"\x05READY\x0bSocket-Type\0\0\0\x06DEALER\x08Identity\0\0\0\0";
        assert_eq!(body(&c), want);
        assert_eq!(Command::parse(Bytes::from_static(want)), Ok(c));
    }

    #[test]
    fn ping_pong_error_bytes() {
        let ping = Command::Ping {
            ttl: 30,
            context: Bytes::from_static(b"ctx"),
        };
        assert_eq!(body(&ping), b"\x04PING\x00\x1ectx");
        let pong = Command::Pong {
            context: Bytes::from_static(b"ctx"),
        };
        assert_eq!(body(&pong), b"\x04PONGctx");
        let error = Command::Error {
            reason: Bytes::from_static(b"no"),
        };
        assert_eq!(body(&error), b"\x05ERROR\x02no");
        for c in [ping, pong, error] {
            assert_eq!(Command::parse(Bytes::from(body(&c))), Ok(c));
        }
        // libzmq's PING: a TTL and no context.
        assert_eq!(
            Command::parse(Bytes::from_static(b"\x04PING\x00\x00")),
            Ok(Command::Ping {
                ttl: 0,
                context: Bytes::new()
            })
        );
    }

    #[test]
    fn unknown_commands_are_surfaced() {
        let c = Command::parse(Bytes::from_static(b"\x09SUBSCRIBEtopic")).unwrap();
        assert_eq!(
            c,
            Command::Unknown {
                name: Bytes::from_static(b"SUBSCRIBE"),
                data: Bytes::from_static(b"topic")
            }
        );
        assert_eq!(body(&c), b"\x09SUBSCRIBEtopic");
    }

    #[test]
    fn malformed_commands_are_refused() {
        for bad in [
            &b""[..],
            b"\x05READ",
            b"\x05READY\x0bSocket-Type\0\0\0\x07DEALER",
            b"\x05READY\x0bSocket-Type\0\0",
            b"\x05READY\x00\0\0\0\0",
            b"\x05READY\x02a b\0\0\0\0",
            b"\x05ERROR",
            b"\x05ERROR\x03no",
            b"\x04PING\x00",
            b"\x04PING\x00\x00seventeen bytes!!",
            b"\x04PONGseventeen bytes!!",
        ] {
            assert!(
                matches!(
                    Command::parse(Bytes::from_static(bad)),
                    Err(ProtocolError::MalformedCommand { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn property_names_ignore_case() {
        let Command::Ready(p) =
            Command::parse(Bytes::from_static(b"\x05READY\x08IDENTITY\0\0\0\x01x")).unwrap()
        else {
            panic!("not READY")
        };
        assert_eq!(p.get("Identity").map(|v| &v[..]), Some(&b"x"[..]));
        assert!(p.get("Socket-Type").is_none());
    }
}
