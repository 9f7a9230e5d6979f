//! plug: talk to external servers over ZeroMQ.
//!
//! A *plug* is a named connection from an application to an external server
//! (a game server, a message server, a legacy app in any language). A raw
//! plug sends and receives any frames; a callbacks plug sends JSON requests
//! with an `id` and completes each one when the reply with that id returns.
//! The wire protocol is PROTOCOL.md at the root of the repository.
//!
//! Layout:
//! - [`protocol`]: envelopes, ids, requests, replies and error codes: the one
//!   definition of the wire format, shared with the servers and the harness;
//! - `frame`: [`Frame`], one message part, moved without copying;
//! - `socket`: a libzmq socket driven by tokio;
//! - `raw`: [`RawPlug`]; `callbacks`: [`CallbacksPlug`] and its pending table;
//! - `message`: [`Message`], what arrives unasked, and the plug's inbox;
//! - `config` and `builder`: TOML configuration and [`PlugBuilder`];
//! - `registry`: [`Plugs`], the named plugs of an application;
//! - `error`: [`Error`], which keeps remote, transport, timeout and protocol
//!   failures apart.

mod frame;
mod socket;
pub mod protocol;
pub mod server;

pub use frame::Frame;
pub use socket::{context, AsyncSocket, SendError};
