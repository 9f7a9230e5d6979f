//! [`Endpoint`]: a ZeroMQ endpoint, checked when it is read.
//!
//! libzmq takes an endpoint as text and says what is wrong with it only when
//! a socket connects, and a plug's socket connects in the background: a typo
//! such as `tcp://127.0.0.1:99999` would end in a timeout. Reading the text
//! into an [`Endpoint`] first turns it into an error that says what is wrong,
//! before any work starts.
//!
//! ```text
//! tcp://HOST:PORT     HOST: IPv4 (127.0.0.1), [IPv6] ([::1]) or a name; PORT: 1-65535
//! ipc://PATH          a Unix socket path (at most 107 bytes)
//! inproc://NAME       inside one process
//! dns+tcp://NAME:PORT every address of NAME, kept up to date (a plug's only;
//!                     see `DnsTarget`)
//! ```
//!
//! A server's endpoint ([`Endpoint::parse_bind`]) may also use `*` for the
//! host (every interface), `*` or `0` for the port (any free port) and
//! `ipc://*` (a fresh path).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::DnsTarget;

/// The longest `ipc://` path libzmq accepts: `sun_path` less its NUL.
pub const MAX_IPC_PATH: usize = 107;

/// A checked ZeroMQ endpoint. `Display` gives the text libzmq takes.
///
/// # Examples
///
/// ```
/// use plug::Endpoint;
///
/// let ep: Endpoint = "tcp://127.0.0.1:5000".parse().unwrap();
/// assert_eq!(ep.to_string(), "tcp://127.0.0.1:5000");
///
/// let e = "tcp://127.0.0.1:99999".parse::<Endpoint>().unwrap_err();
/// assert_eq!(e.to_string(), "`tcp://127.0.0.1:99999`: port 99999 is out of range (1-65535)");
///
/// assert!("tcp://*:*".parse::<Endpoint>().is_err()); // a plug connects to one address
/// assert!(Endpoint::parse_bind("tcp://*:*").is_ok()); // a server binds to any
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    text: String,
    address: Address,
}

/// Where an [`Endpoint`] points, by transport.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// `tcp://host:port`.
    Tcp {
        /// The host.
        host: Host,
        /// The port; `None` for `*` or `0` (any free port, binding only).
        port: Option<u16>,
    },
    /// `ipc://path`; `*` (binding only) asks for a fresh path.
    Ipc(String),
    /// `inproc://name`.
    Inproc(String),
    /// `dns+tcp://name:port`: every address the name resolves to (a plug's
    /// endpoint only).
    Dns(DnsTarget),
}

/// The host of a `tcp://` endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host {
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written in brackets.
    Ipv6(Ipv6Addr),
    /// A host name (or, when binding, an interface name).
    Name(String),
    /// `*`: every interface (binding only).
    Any,
}

/// Why a text is not an endpoint; the message quotes the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}`: {reason}")]
pub struct EndpointError {
    text: String,
    reason: String,
}

impl EndpointError {
    fn new(text: &str, reason: impl Into<String>) -> EndpointError {
        EndpointError {
            text: text.to_owned(),
            reason: reason.into(),
        }
    }

    /// What is wrong, without the text.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Connecting or binding: only a server's endpoint may leave parts open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Connect,
    Bind,
}

impl Endpoint {
    /// Reads an endpoint a server binds: like [`FromStr`] (a plug's
    /// endpoint), and also `*` for the host, `*` or `0` for the port, and
    /// `ipc://*`.
    pub fn parse_bind(text: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(text, Side::Bind)
    }

    /// Where the endpoint points.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The endpoint's text, as libzmq takes it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn parse(text: &str, side: Side) -> Result<Endpoint, EndpointError> {
        let fail = |reason: String| Err(EndpointError::new(text, reason));
        let Some((transport, rest)) = text.split_once("://") else {
            return fail(
                "not an endpoint: expected tcp://host:port, ipc://path or inproc://name".into(),
            );
        };
        let address = match transport {
            "tcp" => tcp(rest, side),
            "ipc" => ipc(rest, side),
            "inproc" if rest.is_empty() => Err("the inproc name is empty".to_owned()),
            "inproc" => Ok(Address::Inproc(rest.to_owned())),
            "dns+tcp" if side == Side::Bind => {
                Err("a server binds tcp://; dns+tcp:// is for plugs".to_owned())
            }
            "dns+tcp" => text.parse().map(Address::Dns).map_err(|e: String| {
                // DnsTarget's message quotes the text already.
                let quoted = format!("`{text}`: ");
                e.strip_prefix(&quoted).unwrap_or(&e).to_owned()
            }),
            other => Err(format!(
                "unsupported transport `{other}` (plugs speak tcp://, ipc://, inproc:// and dns+tcp://)"
            )),
        };
        match address {
            Ok(address) => Ok(Endpoint {
                text: text.to_owned(),
                address,
            }),
            Err(reason) => fail(reason),
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    /// Reads an endpoint a plug connects to: one host, one port.
    fn from_str(text: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(text, Side::Connect)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Endpoint {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<Endpoint> for String {
    fn from(ep: Endpoint) -> String {
        ep.text
    }
}

fn tcp(rest: &str, side: Side) -> Result<Address, String> {
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (inner, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address needs its closing `]`")?;
        let port = after
            .strip_prefix(':')
            .ok_or("expected `:port` after the `]` of the IPv6 address")?;
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| format!("`{inner}` is not an IPv6 address"))?;
        (Host::Ipv6(ip), port)
    } else {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or("expected tcp://host:port, e.g. tcp://127.0.0.1:5000")?;
        (parse_host(host, side)?, port)
    };
    let port = match port {
        "*" | "0" if side == Side::Bind => None,
        "*" | "0" => return Err(format!("a plug connects to one port, not `{port}`")),
        "" => return Err("the port is missing".into()),
        p if p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u32>() {
            Ok(n @ 1..=65535) => Some(n as u16),
            _ => return Err(format!("port {p} is out of range (1-65535)")),
        },
        p => return Err(format!("`{p}` is not a port (a number from 1 to 65535)")),
    };
    Ok(Address::Tcp { host, port })
}

fn parse_host(host: &str, side: Side) -> Result<Host, String> {
    if host == "*" {
        return match side {
            Side::Bind => Ok(Host::Any),
            Side::Connect => Err("a plug connects to one host, not `*`".into()),
        };
    }
    if host.is_empty() {
        return Err("the host is missing".into());
    }
    if host.contains(':') {
        return Err(format!(
            "an IPv6 address goes in brackets: tcp://[{host}]:port"
        ));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host
            .parse()
            .map(Host::Ipv4)
            .map_err(|_| format!("`{host}` is not an IPv4 address (four numbers from 0 to 255)"));
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() > 253 || !host.trim_end_matches('.').split('.').all(label_ok) {
        return Err(format!(
            "`{host}` is not a host name (letters, digits, `-` and `.`)"
        ));
    }
    Ok(Host::Name(host.to_owned()))
}

fn ipc(path: &str, side: Side) -> Result<Address, String> {
    match path {
        "" => Err("the ipc path is empty".into()),
        "*" if side == Side::Connect => Err("a plug connects to one path, not `*`".into()),
        p if p.len() > MAX_IPC_PATH => Err(format!(
            "the ipc path is {} bytes; the limit is {MAX_IPC_PATH}",
            p.len()
        )),
        p => Ok(Address::Ipc(p.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        text.parse::<Endpoint>().unwrap_err().to_string()
    }

    #[test]
    fn good_endpoints_keep_their_text() {
        for text in [
            "tcp://127.0.0.1:5000",
            "tcp://[::1]:1",
            "tcp://localhost:65535",
            "tcp://rpc.example.com.:9000",
            "ipc:///tmp/plug.sock",
            "inproc://game",
            "dns+tcp://game.default.svc:9000",
        ] {
            assert_eq!(text.parse::<Endpoint>().unwrap().as_str(), text);
        }
        let ep: Endpoint = "tcp://[::1]:9".parse().unwrap();
        assert_eq!(
            ep.address(),
            &Address::Tcp {
                host: Host::Ipv6(Ipv6Addr::LOCALHOST),
                port: Some(9)
            }
        );
    }

    #[test]
    fn bad_endpoints_say_what_is_wrong() {
        insta::assert_snapshot!(
            [
                "foo",
                "tcp://256.1.1.1:1",
                "tcp://127.0.0.1:99999",
                "tcp://127.0.0.1:0",
                "tcp://127.0.0.1:*",
                "tcp://*:5000",
                "tcp://127.0.0.1:",
                "tcp://127.0.0.1:http",
                "tcp://127.0.0.1",
                "tcp://:5000",
                "tcp://::1:5000",
                "tcp://[::1:5000",
                "tcp://[::g]:5000",
                "tcp://under_score:1",
                "udp://127.0.0.1:1",
                "dns+tcp://fleet",
                "ipc://",
                "inproc://",
            ]
            .map(refused)
            .join("\n"),
            @r"
        `foo`: not an endpoint: expected tcp://host:port, ipc://path or inproc://name
        `tcp://256.1.1.1:1`: `256.1.1.1` is not an IPv4 address (four numbers from 0 to 255)
        `tcp://127.0.0.1:99999`: port 99999 is out of range (1-65535)
        `tcp://127.0.0.1:0`: a plug connects to one port, not `0`
        `tcp://127.0.0.1:*`: a plug connects to one port, not `*`
        `tcp://*:5000`: a plug connects to one host, not `*`
        `tcp://127.0.0.1:`: the port is missing
        `tcp://127.0.0.1:http`: `http` is not a port (a number from 1 to 65535)
        `tcp://127.0.0.1`: expected tcp://host:port, e.g. tcp://127.0.0.1:5000
        `tcp://:5000`: the host is missing
        `tcp://::1:5000`: an IPv6 address goes in brackets: tcp://[::1]:port
        `tcp://[::1:5000`: an IPv6 address needs its closing `]`
        `tcp://[::g]:5000`: `::g` is not an IPv6 address
        `tcp://under_score:1`: `under_score` is not a host name (letters, digits, `-` and `.`)
        `udp://127.0.0.1:1`: unsupported transport `udp` (plugs speak tcp://, ipc://, inproc:// and dns+tcp://)
        `dns+tcp://fleet`: no port (expected dns+tcp://NAME:PORT, e.g. dns+tcp://game.default.svc:9000)
        `ipc://`: the ipc path is empty
        `inproc://`: the inproc name is empty
        "
        );
        let long = format!("ipc:///{}", "x".repeat(MAX_IPC_PATH));
        assert!(refused(&long).contains("the limit is 107"));
    }

    #[test]
    fn a_server_may_leave_host_port_and_path_open() {
        for text in ["tcp://*:*", "tcp://127.0.0.1:0", "tcp://[::]:*", "ipc://*"] {
            assert!(Endpoint::parse_bind(text).is_ok(), "{text}");
        }
        assert_eq!(
            Endpoint::parse_bind("tcp://*:*").unwrap().address(),
            &Address::Tcp {
                host: Host::Any,
                port: None
            }
        );
        assert!(Endpoint::parse_bind("tcp://127.0.0.1:70000").is_err());
        assert!(Endpoint::parse_bind("dns+tcp://game:9000").is_err());
    }
}
