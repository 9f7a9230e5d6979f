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
//! - [`server`]: the serving loop for external servers written in Rust;
//! - `frame`: [`Frame`], one message part, moved without copying;
//! - `socket`: [`AsyncSocket`], a libzmq socket driven by tokio;
//! - `connection`: the socket, reader task and inbox every plug shares;
//! - `raw`: [`RawPlug`]; `callbacks`: [`CallbacksPlug`] and the pending
//!   table where a reply's id finds its request;
//! - `message`: [`Message`], what arrives unasked, and the plug's inbox;
//! - `monitor` and `stats`: connection health and [`PlugStats`];
//! - `endpoint`: [`Endpoint`], a ZeroMQ endpoint checked when it is read;
//! - `config` and `builder`: TOML configuration and [`PlugBuilder`];
//! - `registry`: [`Plugs`], the named plugs of an application;
//! - `curve`: CURVE keys ([`Keypair`], Z85 checks) and [`CurveUnavailable`],
//!   so a plug asked to encrypt never falls back to plain text;
//! - `error`: [`Error`], which keeps remote, transport, timeout and protocol
//!   failures apart.

mod builder;
mod callbacks;
mod config;
mod connection;
mod curve;
mod endpoint;
mod error;
mod frame;
mod message;
mod monitor;
pub mod protocol;
mod raw;
mod registry;
mod reply;
pub mod server;
mod socket;
mod stats;

pub use builder::PlugBuilder;
pub use callbacks::CallbacksPlug;
pub use config::{Backpressure, Config, PlugConfig};
pub use curve::{
    check_z85_key, curve_available, require_curve, CurveClient, CurveUnavailable, Keypair,
};
pub use endpoint::{Address, Endpoint, EndpointError, Host, MAX_IPC_PATH};
pub use error::{ConfigError, Error, TransportError};
pub use frame::Frame;
pub use message::{Message, MessageKind, Messages};
pub use raw::RawPlug;
pub use registry::{Plug, Plugs};
pub use reply::Reply;
pub use socket::{context, AsyncSocket, SendError};
pub use stats::PlugStats;
