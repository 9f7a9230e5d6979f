//! [`Error`]: every way a plug operation can fail, kept apart.

use std::time::Duration;

use crate::protocol::{ErrorObject, ReplyError};
use crate::Reply;

/// What went wrong with a plug operation.
///
/// The variants keep apart who failed: the server said no ([`Error::Remote`]),
/// nothing came back in time ([`Error::Timeout`]), the socket failed
/// ([`Error::Transport`]), the server broke the protocol
/// ([`Error::Protocol`]), or the caller asked for something impossible.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error reply (PROTOCOL.md §5.3).
    #[error("remote error {}: {}", .error.code, .error.message)]
    Remote {
        /// The `error` member of the reply.
        error: ErrorObject,
        /// The whole reply object.
        reply: Box<Reply>,
    },

    /// No reply arrived before the request's deadline. `id` is `None` when
    /// the request never got as far as the wire (it waited for a free slot or
    /// for the socket's queue the whole time).
    #[error("{}", timeout_text(.id, .after))]
    Timeout {
        /// The request id, when the request was sent.
        id: Option<u64>,
        /// The deadline that passed.
        after: Duration,
    },

    /// The socket or libzmq failed.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),

    /// A reply matched a request by id but broke the protocol (PROTOCOL.md §7.3).
    #[error("protocol violation in the reply to request {id}: {error}")]
    Protocol {
        /// The request the reply was matched to.
        id: u64,
        /// What was wrong with it.
        error: ReplyError,
    },

    /// `max_in_flight` requests are already waiting and the plug is set to
    /// fail rather than wait (`backpressure = "fail"`).
    #[error("{limit} requests already in flight (max_in_flight); request refused")]
    Busy {
        /// The plug's `max_in_flight`.
        limit: usize,
    },

    /// The request itself is unusable, e.g. not a JSON object.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// CURVE was configured but this libzmq has none; nothing was sent in
    /// plain text instead.
    #[error(transparent)]
    CurveUnavailable(#[from] crate::CurveUnavailable),

    /// The plug was closed.
    #[error("the plug is closed")]
    Closed,
}

fn timeout_text(id: &Option<u64>, after: &Duration) -> String {
    match id {
        Some(id) => format!("no reply to request {id} within {} ms", after.as_millis()),
        None => format!(
            "request not sent within {} ms: no connected server had room for it, or max_in_flight was reached",
            after.as_millis()
        ),
    }
}

impl Error {
    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// The remote error object, if the server answered with one.
    pub fn remote(&self) -> Option<&ErrorObject> {
        match self {
            Error::Remote { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A failure of the socket underneath a plug.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// libzmq refused an endpoint.
    #[error("cannot connect to `{endpoint}`: {source}")]
    Connect {
        /// The endpoint as configured.
        endpoint: String,
        /// libzmq's reason.
        source: zmq::Error,
    },
    /// A send failed.
    #[error("send failed: {0}")]
    Send(#[from] crate::socket::SendError),
    /// Any other libzmq failure.
    #[error("{0}")]
    Zmq(#[from] zmq::Error),
    /// The socket could not be registered with tokio.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A configuration error that names the offending key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", config_text(.key, .message))]
pub struct ConfigError {
    /// The dotted path of the key, e.g. `plug_sockets.plugs.velocity.timeout_ms`,
    /// or empty when the file cannot be read at all.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

fn config_text(key: &str, message: &str) -> String {
    if key.is_empty() {
        format!("config: {message}")
    } else {
        format!("config key `{key}`: {message}")
    }
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}
