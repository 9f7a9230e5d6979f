//! What this side of a connection is and how much it accepts.

use std::time::Duration;

use bytes::Bytes;

use crate::{Error, Limits, SocketType};

/// This side's socket type, identity and bounds, for the handshake and the
/// connection after it.
///
/// ```
/// use plug_zmtp::{Options, SocketType};
/// let options = Options::new(SocketType::Dealer).identity("client-1");
/// assert_eq!(options.identity.as_deref(), Some(&b"client-1"[..]));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Sent as `Socket-Type`; the peer's type must be compatible with it.
    pub socket_type: SocketType,
    /// Sent as `Identity` (a ROUTER peer routes to this side by it). Default
    /// none: an empty `Identity`, and the ROUTER makes one up.
    pub identity: Option<Bytes>,
    /// Bounds on what the peer may send. Default [`Limits::default`].
    pub limits: Limits,
    /// The whole handshake must finish within this. Default 30 seconds
    /// (libzmq's `ZMQ_HANDSHAKE_IVL`).
    pub handshake_timeout: Duration,
    /// Free space the reader asks for before each read. Default 64 KiB.
    pub read_buffer: usize,
    /// Outgoing frames up to this size are copied into the write buffer;
    /// larger ones are written from the caller's memory. Incoming frames up
    /// to this size are copied out of the read buffer (which is then reused);
    /// larger ones share its memory. Default 8 KiB.
    pub copy_limit: usize,
}

impl Options {
    pub fn new(socket_type: SocketType) -> Options {
        Options {
            socket_type,
            identity: None,
            limits: Limits::default(),
            handshake_timeout: Duration::from_secs(30),
            read_buffer: 64 << 10,
            copy_limit: crate::encoder::DEFAULT_COPY_LIMIT,
        }
    }

    pub fn identity(mut self, identity: impl Into<Bytes>) -> Options {
        self.identity = Some(identity.into());
        self
    }

    pub fn limits(mut self, limits: Limits) -> Options {
        self.limits = limits;
        self
    }

    pub fn handshake_timeout(mut self, timeout: Duration) -> Options {
        self.handshake_timeout = timeout;
        self
    }

    pub fn read_buffer(mut self, bytes: usize) -> Options {
        self.read_buffer = bytes;
        self
    }

    pub fn copy_limit(mut self, bytes: usize) -> Options {
        self.copy_limit = bytes;
        self
    }

    /// Refuses options that cannot work, naming the option.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |option, reason| Err(Error::Option { option, reason });
        if self.identity.as_ref().is_some_and(|id| id.len() > 255) {
            return bad("identity", "longer than 255 bytes");
        }
        if self
            .identity
            .as_ref()
            .is_some_and(|id| id.first() == Some(&0))
        {
            return bad(
                "identity",
                "starts with a zero byte (reserved for identities a ROUTER makes up)",
            );
        }
        if self.read_buffer == 0 {
            return bad("read_buffer", "must be at least 1 byte");
        }
        if self.handshake_timeout.is_zero() {
            return bad("handshake_timeout", "must be more than zero");
        }
        if self.limits.max_command_size < 64 {
            return bad(
                "limits.max_command_size",
                "must be at least 64 bytes (a READY)",
            );
        }
        if self.limits.max_frames == 0 {
            return bad("limits.max_frames", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_name_themselves() {
        let base = Options::new(SocketType::Dealer);
        let cases = [
            (base.clone().identity(vec![1u8; 256]), "identity"),
            (base.clone().identity(&b"\0id"[..]), "identity"),
            (base.clone().read_buffer(0), "read_buffer"),
            (
                base.clone().handshake_timeout(Duration::ZERO),
                "handshake_timeout",
            ),
        ];
        for (options, name) in cases {
            let err = options.check().unwrap_err();
            assert!(
                matches!(err, Error::Option { option, .. } if option == name),
                "{err}"
            );
            assert!(err.to_string().contains(name));
        }
        assert!(base.identity(vec![1u8; 255]).check().is_ok());
    }
}
