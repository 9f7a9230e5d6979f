//! ZMTP 3.1 spoken directly on tokio, for `tcp://` and `ipc://`: the native
//! transport of the plug kit beside libzmq (which stays for CURVE,
//! `inproc://` and as the reference every interop test runs against).
//!
//! Wire-compatible with libzmq 4.x: NULL security, ZMTP 3.1 sent, 3.0 and
//! later peers accepted, PING answered with PONG; and with ZMTP 2.0 peers
//! (libzmq 3.x, JeroMQ 0.3), which libzmq 4.x also still speaks. What is not here on
//! purpose: reconnects, routing tables and high-water marks belong to the
//! DEALER and ROUTER built on top.
//!
//! Layout, from the wire up:
//! - sans-I/O core (no sockets, no tokio; fuzzed and unit-tested):
//!   - [`greeting`](Greeting): the 64-byte greeting, parsed as it arrives;
//!   - [`command`](Command): READY and its [`Properties`], ERROR, PING,
//!     PONG, unknown commands;
//!   - [`decoder`](Decoder): frames to whole messages, small bodies copied
//!     out of a `BytesMut` and large ones shared with it, sizes checked
//!     against [`Limits`] from the header;
//!   - [`encoder`](Encoder): messages to bytes, small frames batched, large
//!     ones written from the caller's memory;
//!   - [`handshake`](Handshake): the NULL handshake state machine and the
//!     peer's [`PeerInfo`];
//!   - [`socket_type`](SocketType): names and compatibility (RFC 28);
//!   - [`options`](Options), [`error`](Error).
//! - [`connection`]: the handshake over any `AsyncRead + AsyncWrite` with a
//!   deadline, then a [`Reader`] (one read, every complete message) and a
//!   [`Writer`] (many messages, few `writev`s), and [`Keepalive`] for PINGs.

mod command;
pub mod connection;
mod decoder;
mod encoder;
mod error;
mod greeting;
mod handshake;
mod options;
mod socket_type;

pub use command::{Command, Properties, MAX_PING_CONTEXT};
pub use connection::{
    handshake, Batch, Connection, Heartbeat, IntoSplit, Keepalive, KeepaliveAction, Reader, Writer,
};
pub use decoder::{Decoder, Inbound, Limits};
pub use encoder::{Encoder, DEFAULT_COPY_LIMIT};
pub use error::{Error, ProtocolError};
pub use greeting::{Greeting, Version, GREETING_LEN, SIGNATURE_LEN, VERSION, ZMTP_2_0};
pub use handshake::{Handshake, PeerInfo};
pub use options::Options;
pub use socket_type::SocketType;
