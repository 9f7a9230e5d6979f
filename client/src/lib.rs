//! plug: talk to external servers over ZeroMQ.
//!
//! A *plug* is a named connection from an application to an external server
//! (a game server, a message server, a legacy app in any language). A raw
//! plug sends and receives any frames; an rpc plug sends JSON requests with
//! an `id` and completes each one when the reply with that id returns.
//! The wire protocol is PROTOCOL.md at the root of the repository.
//!
//! Layout:
//! - [`protocol`]: envelopes, ids, requests, replies and error codes: the one
//!   definition of the wire format, shared with the servers and the harness;
//! - [`server`]: the serving loop for external servers written in Rust;
//! - `frame`: [`Frame`], one message part, moved without copying;
//! - [`socket`]: [`socket::AsyncSocket`], a libzmq socket driven by tokio,
//!   and the process-wide [`socket::context`];
//! - `connection`: the socket, reader task and inbox every plug shares;
//! - `raw`: [`RawPlug`]; `rpc`: [`RpcPlug`] and the pending table where a
//!   reply's id finds its request;
//! - `message`: [`Message`], what arrives unasked, and the plug's inbox;
//! - `monitor` and `stats`: connection health and [`PlugStats`];
//! - `endpoint`: [`Endpoint`], a ZeroMQ endpoint checked when it is read;
//! - `config` and `builder`: TOML configuration and [`PlugBuilder`];
//! - `discovery`: [`Discovery`], the live set of endpoints behind a
//!   `dns+tcp://` name;
//! - `registry`: [`Plugs`], the named plugs of an application;
//! - `curve`: CURVE keys ([`Keypair`], Z85 checks) and [`CurveUnavailable`],
//!   so a plug asked to encrypt never falls back to plain text;
//! - `error`: [`Error`], which keeps remote, transport, timeout and protocol
//!   failures apart.
//!
//! The [`zmq`] crate this one is built on is re-exported, so the `zmq` types
//! that appear in its signatures (`zmq::Error` in a few error variants,
//! `zmq::Context` for [`server::bind_in`]) can be named without a version
//! clash.

mod builder;
mod config;
mod connection;
mod curve;
mod discovery;
mod endpoint;
mod error;
mod frame;
mod message;
mod monitor;
pub mod protocol;
mod raw;
mod registry;
mod reply;
mod rpc;
pub mod server;
pub mod socket;
mod stats;

pub use zmq;

pub use builder::PlugBuilder;
pub use config::{Backpressure, Config, PlugConfig};
pub use curve::{
    check_z85_key, curve_available, require_curve, CurveClient, CurveUnavailable, Keypair,
};
pub use discovery::{Discovery, DiscoveryConfig, DiscoveryError, DiscoveryStats, DnsTarget};
pub use endpoint::{Address, Endpoint, EndpointError, Host, MAX_IPC_PATH};
pub use error::{ConfigError, Error, TransportError};
pub use frame::Frame;
pub use message::{Message, MessageKind, Messages};
pub use raw::RawPlug;
pub use registry::{Plug, Plugs};
pub use reply::Reply;
pub use rpc::RpcPlug;
pub use stats::PlugStats;
