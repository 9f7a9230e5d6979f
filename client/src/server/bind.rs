//! Binding a server's socket: a [`Listener`] on either transport, with the
//! options a server needs.

use crate::socket::AsyncSocket;
use crate::transport::{native, Address, Transport};

use super::{CurveServer, ServerError};

/// Socket options for [`bind_in`]. The defaults suit the servers of this kit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// Outgoing messages queued per peer before a send waits (`ZMQ_SNDHWM`
    /// on libzmq, the peer's queue on the native transport). Default 10000.
    pub send_hwm: i32,
    /// Incoming messages queued per peer before libzmq stops reading from it
    /// (`ZMQ_RCVHWM`; the native transport reads a peer only as fast as it
    /// answers, so TCP pushes back instead). Default 10000.
    pub recv_hwm: i32,
    /// How long, in milliseconds, unsent replies may still be flushed after
    /// a libzmq socket is closed, when its context is terminated
    /// (`ZMQ_LINGER`; the native transport flushes before it closes).
    /// Default 2000.
    pub linger_ms: i32,
    /// CURVE encryption and the client allow-list. Default `None`: plain
    /// text. Binding fails with [`ServerError::CurveUnavailable`] when
    /// libzmq lacks CURVE.
    pub curve: Option<CurveServer>,
    /// The transport. Default `None`: native for `tcp://` and `ipc://`
    /// without CURVE, libzmq otherwise ([`Transport::choose`]).
    pub transport: Option<Transport>,
}

impl Default for SocketOptions {
    fn default() -> SocketOptions {
        SocketOptions {
            send_hwm: 10_000,
            recv_hwm: 10_000,
            linger_ms: 2_000,
            curve: None,
            transport: None,
        }
    }
}

impl SocketOptions {
    /// Sets [`SocketOptions::curve`].
    pub fn curve(mut self, curve: CurveServer) -> SocketOptions {
        self.curve = Some(curve);
        self
    }

    /// Sets [`SocketOptions::transport`].
    pub fn transport(mut self, transport: Transport) -> SocketOptions {
        self.transport = Some(transport);
        self
    }
}

/// A bound server socket, ready for [`run_rpc`](super::run_rpc) or
/// [`run_raw`](super::run_raw): a libzmq ROUTER, or a native listener whose
/// connections behave as a ROUTER's peers.
#[derive(Debug)]
pub struct Listener {
    pub(super) inner: Bound,
    endpoint: String,
}

#[derive(Debug)]
pub(super) enum Bound {
    Zmq(AsyncSocket),
    Native {
        listener: native::Listener,
        queue_limit: usize,
    },
}

impl Listener {
    /// The endpoint it is bound to, a wildcard port resolved.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The transport it serves on.
    pub fn transport(&self) -> Transport {
        match self.inner {
            Bound::Zmq(_) => Transport::Libzmq,
            Bound::Native { .. } => Transport::Native,
        }
    }
}

/// Binds a server socket on `endpoint` (in the shared libzmq context,
/// [`crate::socket::context`], when the transport is libzmq) and returns it
/// with the endpoint it actually bound.
///
/// A libzmq socket has `ZMQ_ROUTER_MANDATORY` set (PROTOCOL.md §2.4), so a
/// reply to a full peer waits instead of vanishing and a reply to a gone
/// peer is reported; the native transport behaves the same way. A wildcard
/// port (`tcp://127.0.0.1:*` or `:0`) is resolved: the returned endpoint
/// names the real port. Must be called inside a tokio runtime.
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
pub fn bind(endpoint: &str) -> Result<(Listener, String), ServerError> {
    bind_in(
        crate::socket::context(),
        endpoint,
        &SocketOptions::default(),
    )
}

/// Like [`bind`], in a given libzmq context and with given options.
///
/// A binary that wants replies still queued at exit to reach their peers
/// over libzmq binds in a context of its own and drops that context (which
/// waits up to [`SocketOptions::linger_ms`]) after the serving loop has
/// returned.
pub fn bind_in(
    ctx: &zmq::Context,
    endpoint: &str,
    options: &SocketOptions,
) -> Result<(Listener, String), ServerError> {
    let curve = options.curve.is_some();
    let transport = options
        .transport
        .unwrap_or_else(|| Transport::choose(endpoint, curve));
    transport
        .supports(endpoint, curve)
        .map_err(|reason| ServerError::Listen {
            endpoint: endpoint.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
        })?;
    let (inner, actual) = match transport {
        Transport::Native => {
            let address = Address::native(endpoint).ok_or_else(|| ServerError::Listen {
                endpoint: endpoint.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a tcp:// or ipc:// endpoint",
                ),
            })?;
            let (listener, actual) =
                native::Listener::bind(&address).map_err(|source| ServerError::Listen {
                    endpoint: endpoint.to_owned(),
                    source,
                })?;
            let queue_limit = match options.send_hwm {
                n if n > 0 => n as usize,
                _ => usize::MAX,
            };
            (
                Bound::Native {
                    listener,
                    queue_limit,
                },
                actual,
            )
        }
        Transport::Libzmq => {
            let (socket, actual) = bind_zmq(ctx, endpoint, options)?;
            (Bound::Zmq(socket), actual)
        }
    };
    Ok((
        Listener {
            inner,
            endpoint: actual.clone(),
        },
        actual,
    ))
}

fn bind_zmq(
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
        for transport in [Transport::Native, Transport::Libzmq] {
            let options = SocketOptions::default().transport(transport);
            let (s, ep) = bind_in(crate::socket::context(), "tcp://127.0.0.1:*", &options).unwrap();
            assert_eq!(s.transport(), transport);
            let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
            assert_ne!(port, 0);
            assert_eq!(s.endpoint(), ep);
        }
        let err = bind("nonsense://x").unwrap_err();
        assert!(err.to_string().contains("nonsense://x"), "{err}");
        let err = bind_in(
            crate::socket::context(),
            "inproc://x",
            &SocketOptions::default().transport(Transport::Native),
        )
        .unwrap_err();
        assert!(err.to_string().contains("libzmq"), "{err}");
    }
}
