//! Binding a ROUTER socket with the options a server needs.

use crate::socket::AsyncSocket;

use super::{CurveServer, ServerError};

/// Socket options for [`bind`]. The defaults suit the servers of this kit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// Outgoing messages queued per peer before a send waits (`ZMQ_SNDHWM`).
    /// Default 10000.
    pub send_hwm: i32,
    /// Incoming messages queued per peer before libzmq stops reading from it
    /// (`ZMQ_RCVHWM`). Default 10000.
    pub recv_hwm: i32,
    /// How long, in milliseconds, unsent replies may still be flushed after
    /// the socket is closed, when its context is terminated (`ZMQ_LINGER`).
    /// Default 2000.
    pub linger_ms: i32,
    /// CURVE encryption and the client allow-list. Default `None`: plain
    /// text. Binding fails with [`ServerError::CurveUnavailable`] when
    /// libzmq lacks CURVE.
    pub curve: Option<CurveServer>,
}

impl Default for SocketOptions {
    fn default() -> SocketOptions {
        SocketOptions {
            send_hwm: 10_000,
            recv_hwm: 10_000,
            linger_ms: 2_000,
            curve: None,
        }
    }
}

/// Binds a ROUTER socket on `endpoint` in the shared context
/// ([`crate::socket::context`]) and returns it with the endpoint it actually bound.
///
/// The socket has `ZMQ_ROUTER_MANDATORY` set (PROTOCOL.md §2.4), so a reply
/// to a full peer waits instead of vanishing and a reply to a gone peer is
/// reported. A wildcard port (`tcp://127.0.0.1:*` or `:0`) is resolved: the
/// returned endpoint names the real port. Must be called inside a tokio
/// runtime.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (socket, endpoint) = plug::server::bind("tcp://127.0.0.1:*").unwrap();
/// assert!(endpoint.starts_with("tcp://127.0.0.1:"));
/// assert!(!endpoint.ends_with(":*"));
/// # drop(socket);
/// # }
/// ```
pub fn bind(endpoint: &str) -> Result<(AsyncSocket, String), ServerError> {
    bind_in(
        crate::socket::context(),
        endpoint,
        &SocketOptions::default(),
    )
}

/// Like [`bind`], in a given context and with given options.
///
/// A binary that wants replies still queued at exit to reach their peers
/// binds in a context of its own and drops that context (which waits up to
/// [`SocketOptions::linger_ms`]) after the serving loop has returned.
pub fn bind_in(
    ctx: &zmq::Context,
    endpoint: &str,
    options: &SocketOptions,
) -> Result<(AsyncSocket, String), ServerError> {
    let bind_err = |source| ServerError::Bind {
        endpoint: endpoint.to_owned(),
        source,
    };
    let sock = ctx.socket(zmq::ROUTER).map_err(bind_err)?;
    sock.set_router_mandatory(true).map_err(bind_err)?;
    sock.set_sndhwm(options.send_hwm).map_err(bind_err)?;
    sock.set_rcvhwm(options.recv_hwm).map_err(bind_err)?;
    sock.set_linger(options.linger_ms).map_err(bind_err)?;
    if let Some(curve) = &options.curve {
        curve.apply(ctx, &sock)?;
    }
    sock.bind(endpoint).map_err(bind_err)?;
    let actual = sock
        .get_last_endpoint()
        .map_err(bind_err)?
        .map_err(|raw| ServerError::Endpoint(String::from_utf8_lossy(&raw).into_owned()))?;
    let socket = AsyncSocket::new(sock).map_err(ServerError::Io)?;
    Ok((socket, actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wildcard_port_is_resolved_and_bad_endpoints_fail() {
        let (_s, ep) = bind("tcp://127.0.0.1:*").unwrap();
        let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
        assert_ne!(port, 0);
        let err = bind("nonsense://x").unwrap_err();
        assert!(err.to_string().contains("nonsense://x"), "{err}");
    }
}
