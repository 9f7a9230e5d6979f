//! Where a native socket dials or binds: a TCP host and port, or a Unix
//! socket path.

use std::io;
use std::path::PathBuf;

/// A `tcp://` or `ipc://` endpoint, split for the native transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Address {
    /// `tcp://host:port`; `host` may be a name, an IPv4 address, a
    /// bracketed IPv6 address or `*` (bind only); `port` may be `*` or 0
    /// (bind only: any free port).
    Tcp { host: String, port: u16 },
    /// `ipc://path`.
    Ipc(PathBuf),
}

impl Address {
    /// The address of a `tcp://` or `ipc://` endpoint, `None` for any other
    /// kind or a malformed one.
    pub(crate) fn native(endpoint: &str) -> Option<Address> {
        if let Some(rest) = endpoint.strip_prefix("tcp://") {
            let (host, port) = rest.rsplit_once(':')?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return None;
            }
            let port = match port {
                "*" => 0,
                p => p.parse().ok()?,
            };
            return Some(Address::Tcp {
                host: host.to_owned(),
                port,
            });
        }
        let path = endpoint.strip_prefix("ipc://")?;
        (!path.is_empty()).then(|| Address::Ipc(PathBuf::from(path)))
    }

    /// The host to bind to: `*` means every IPv4 address, as in libzmq.
    pub(crate) fn bind_host(host: &str) -> &str {
        if host == "*" {
            "0.0.0.0"
        } else {
            host
        }
    }

    /// The `tcp://` or `ipc://` form of a bound listener's local address.
    pub(crate) fn tcp_endpoint(addr: std::net::SocketAddr) -> String {
        format!("tcp://{addr}")
    }

    pub(crate) fn unresolvable(host: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{host}` resolves to no address"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tcp_and_ipc() {
        assert_eq!(
            Address::native("tcp://127.0.0.1:5555"),
            Some(Address::Tcp {
                host: "127.0.0.1".into(),
                port: 5555
            })
        );
        assert_eq!(
            Address::native("tcp://[::1]:7"),
            Some(Address::Tcp {
                host: "::1".into(),
                port: 7
            })
        );
        assert_eq!(
            Address::native("tcp://*:*"),
            Some(Address::Tcp {
                host: "*".into(),
                port: 0
            })
        );
        assert_eq!(
            Address::native("ipc:///tmp/s"),
            Some(Address::Ipc("/tmp/s".into()))
        );
        assert_eq!(Address::native("inproc://x"), None);
        assert_eq!(Address::native("tcp://nohost"), None);
        assert_eq!(Address::native("tcp://h:99999"), None);
    }
}
