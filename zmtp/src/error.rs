//! The errors of the crate: what the peer did wrong on the wire
//! ([`ProtocolError`]) and how a connection ended ([`Error`]).

use std::io;

use crate::SocketType;

/// The peer broke ZMTP, or asked for something this transport does not do.
/// The connection cannot go on after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The first bytes are not a ZMTP 3 greeting signature.
    #[error("not a ZMTP peer: the greeting signature is wrong (byte {at} is {got:#04x})")]
    Signature { at: usize, got: u8 },
    /// A ZMTP 1.0 peer (libzmq 2.x), which the native transport does not
    /// speak (it speaks 3.x and 2.0); also what [`Greeting::parse`](crate::Greeting::parse)
    /// says of a 2.0 greeting, which only the handshake accepts.
    #[error(
        "the peer speaks ZMTP {major}.0, which the native transport does not speak \
         (use the libzmq transport, transport = \"libzmq\")"
    )]
    Version { major: u8 },
    /// The peer's greeting names a security mechanism other than NULL.
    #[error(
        "the peer uses the {0} security mechanism, not supported by the native transport \
         (NULL only; use the libzmq transport for CURVE)"
    )]
    Mechanism(String),
    /// A frame's flags have reserved bits set.
    #[error("reserved bits set in frame flags {0:#04x}")]
    ReservedFlags(u8),
    /// A frame header announces a message over the configured maximum.
    #[error("message of at least {size} bytes announced, over the maximum of {max} bytes")]
    MessageTooLarge { size: u64, max: u64 },
    /// A message has more frames than the configured maximum.
    #[error("message with more than {max} frames")]
    TooManyFrames { max: usize },
    /// A command frame over the configured maximum.
    #[error("command of {size} bytes announced, over the maximum of {max} bytes")]
    CommandTooLarge { size: u64, max: usize },
    /// A command frame has the MORE flag, or arrives between the frames of a
    /// multipart message.
    #[error("a command frame inside a multipart message")]
    CommandInMessage,
    /// A command frame whose body does not follow its grammar.
    #[error("malformed {command} command: {reason}")]
    MalformedCommand {
        command: &'static str,
        reason: &'static str,
    },
    /// A command that is not allowed at this point (e.g. a message before
    /// READY, or READY after the handshake).
    #[error("unexpected {got} during the {phase}")]
    Unexpected { got: String, phase: &'static str },
    /// The peer's READY has no Socket-Type property.
    #[error("the peer's READY has no Socket-Type")]
    MissingSocketType,
    /// The peer's Socket-Type is not one ZMTP defines.
    #[error("the peer's Socket-Type {0:?} is unknown")]
    UnknownSocketType(String),
    /// The two socket types cannot talk to each other (RFC 28).
    #[error("a {ours} socket cannot talk to a {theirs} peer")]
    SocketTypeMismatch {
        ours: SocketType,
        theirs: SocketType,
    },
    /// The peer's Identity is longer than 255 bytes.
    #[error("the peer's Identity has {0} bytes, over 255")]
    IdentityTooLong(usize),
    /// An empty message (no frame) was given to the encoder.
    #[error("a message needs at least one frame")]
    EmptyMessage,
}

/// How an operation on a connection failed: transport, protocol, the remote
/// peer's refusal and time-outs are kept apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed (connection reset, broken pipe, ...).
    #[error("transport error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the stream (cleanly, or in the middle of a message).
    #[error("the peer closed the connection")]
    Closed,
    /// The peer closed the stream before its greeting was complete. A
    /// libzmq peer does this when its security mechanism is not NULL: it
    /// reads our greeting's "NULL" and may hang up before the rest of its
    /// own is sent, so its mechanism's name never arrives.
    #[error(
        "the peer closed the connection during the greeting (after {received} bytes of it): \
         it probably uses CURVE or PLAIN, which are not supported by the native transport \
         (the libzmq transport, transport = \"libzmq\", supports them)"
    )]
    ClosedInGreeting { received: usize },
    /// The peer broke the protocol; the connection is unusable.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The peer sent an ERROR command (e.g. it refused our socket type).
    #[error("the peer refused the connection: {reason}")]
    Refused { reason: String },
    /// A deadline passed: the handshake did not finish in time, or the peer
    /// stayed silent past the heartbeat timeout.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// A bad local option, named.
    #[error("invalid option `{option}`: {reason}")]
    Option {
        option: &'static str,
        reason: &'static str,
    },
}
