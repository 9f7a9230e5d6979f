//! The wire protocol of PROTOCOL.md, in one place.
//!
//! Client plugs, the sample servers and the conformance harness all build and
//! read messages with this module, so there is one definition of:
//!
//! - [`envelope`]: bare and delimiter envelopes, and how a server splits a
//!   routed message into envelope and body (PROTOCOL.md §3);
//! - [`id`]: [`Id`], a request id as its exact JSON text, the one id type
//!   of servers, plugs and the harness (§5.2);
//! - [`request`]: the JSON request as a server reads it, with its id kept as
//!   the exact JSON text that arrived (§5.1, §5.5);
//! - [`reply`]: building replies on the server and reading them on the client
//!   (§5.3, §7.3);
//! - [`error_object`]: the `{code, message, data}` error object and the
//!   reserved codes (§5.5).

pub mod envelope;
pub mod error_object;
pub mod id;
pub mod reply;
pub mod request;
mod text;

pub use envelope::{Envelope, EnvelopeStyle, Routed};
pub use error_object::{codes, ErrorObject};
pub use id::Id;
pub use reply::{encode_error, encode_result, ReplyBody, ReplyError};
pub use request::{
    encode_call, encode_request, parse_request, peek_id, read_request, Peeked, Request,
};

/// The version of PROTOCOL.md this module implements.
pub const PROTOCOL_VERSION: u32 = 1;
