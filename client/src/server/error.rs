//! Errors of the serving loop.

use std::io;

/// Why a server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The socket could not be created, configured or bound.
    #[error("cannot bind {endpoint}: {source}")]
    Bind {
        /// The endpoint that was asked for.
        endpoint: String,
        /// What libzmq said.
        source: zmq::Error,
    },
    /// libzmq returned a bound endpoint that is not UTF-8.
    #[error("bound endpoint is not UTF-8: {0}")]
    Endpoint(String),
    /// The socket could not be registered with tokio.
    #[error("cannot register the socket with tokio: {0}")]
    Io(io::Error),
    /// Receiving failed for a reason other than a missing message.
    #[error("receive failed: {0}")]
    Recv(zmq::Error),
    /// CURVE was asked for but this libzmq has none; the server did not
    /// start in plain text instead.
    #[error(transparent)]
    CurveUnavailable(#[from] crate::CurveUnavailable),
    /// The runtime shut down while the server was running.
    #[error("the runtime shut down while serving")]
    Cancelled,
    /// A CURVE key or key file is unusable.
    #[error("CURVE: {0}")]
    Curve(String),
}
