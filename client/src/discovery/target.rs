//! [`DnsTarget`]: a `dns+tcp://name:port` endpoint, the name a plug resolves
//! itself.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use hickory_resolver::proto::rr::Name;

/// The scheme of an endpoint whose name the plug resolves to every address.
pub(crate) const SCHEME: &str = "dns+tcp://";

/// A name and a port: every A and AAAA record of the name, each with the
/// port, is one `tcp://` endpoint.
///
/// ```
/// let target: plug::DnsTarget = "dns+tcp://game.default.svc:9000".parse()?;
/// assert_eq!(target.name(), "game.default.svc");
/// assert_eq!(target.port(), 9000);
/// assert!(plug::DnsTarget::is_dns("dns+tcp://game:9000"));
/// assert!(!plug::DnsTarget::is_dns("tcp://game:9000"));
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DnsTarget {
    name: String,
    port: u16,
}

impl DnsTarget {
    /// Whether `endpoint` asks for discovery (starts with `dns+tcp://`).
    pub fn is_dns(endpoint: &str) -> bool {
        endpoint.starts_with(SCHEME)
    }

    /// The name looked up, as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port every resolved address gets.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The concrete endpoint for one resolved address:
    /// `tcp://192.0.2.7:9000` or `tcp://[2001:db8::7]:9000`.
    pub(crate) fn endpoint(&self, ip: IpAddr) -> String {
        format!("tcp://{}", SocketAddr::new(ip, self.port))
    }
}

impl fmt::Display for DnsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}:{}", self.name, self.port)
    }
}

impl FromStr for DnsTarget {
    type Err = String;

    /// Parses `dns+tcp://NAME:PORT`. The error says what is wrong, with the
    /// endpoint quoted, for a config error to carry.
    fn from_str(endpoint: &str) -> Result<DnsTarget, String> {
        let bad = |why: &str| {
            format!("`{endpoint}`: {why} (expected {SCHEME}NAME:PORT, e.g. {SCHEME}game.default.svc:9000)")
        };
        let rest = endpoint
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("not a discovery endpoint"))?;
        let (name, port) = rest.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        if name.is_empty() {
            return Err(bad("no name"));
        }
        // An IPv6 literal has nothing to look up, and `[`/`]` are no part of a name.
        if name.contains(['/', '[', ']', ':', '*']) {
            return Err(bad("the name is not a DNS name"));
        }
        Name::from_utf8(name).map_err(|e| bad(&format!("the name is not a DNS name: {e}")))?;
        let port = match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(bad("the port must be a number from 1 to 65535")),
            Ok(p) => p,
        };
        Ok(DnsTarget {
            name: name.to_owned(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_port() {
        let t: DnsTarget = "dns+tcp://game.default.svc.cluster.local:9000"
            .parse()
            .unwrap();
        assert_eq!(t.name(), "game.default.svc.cluster.local");
        assert_eq!(t.port(), 9000);
        assert_eq!(
            t.to_string(),
            "dns+tcp://game.default.svc.cluster.local:9000"
        );
        let t: DnsTarget = "dns+tcp://localhost:1".parse().unwrap();
        assert_eq!(t.name(), "localhost");
    }

    #[test]
    fn endpoints_bracket_ipv6() {
        let t: DnsTarget = "dns+tcp://fleet:9000".parse().unwrap();
        assert_eq!(
            t.endpoint("192.0.2.7".parse().unwrap()),
            "tcp://192.0.2.7:9000"
        );
        assert_eq!(t.endpoint("::1".parse().unwrap()), "tcp://[::1]:9000");
    }

    #[test]
    fn refuses_what_is_not_name_and_port() {
        for (ep, why) in [
            ("tcp://game:9000", "not a discovery endpoint"),
            ("dns+tcp://game", "no port"),
            ("dns+tcp://:9000", "no name"),
            ("dns+tcp://game:0", "port must be"),
            ("dns+tcp://game:65536", "port must be"),
            ("dns+tcp://game:*", "port must be"),
            ("dns+tcp://game:90x", "port must be"),
            ("dns+tcp://game:9000/path", "port must be"),
            ("dns+tcp://[::1]:9000", "not a DNS name"),
            ("dns+tcp://ga/me:9000", "not a DNS name"),
            ("dns+tcp://*.game:9000", "not a DNS name"),
            ("dns+tcp://a..b:9000", "not a DNS name"),
        ] {
            let e = ep.parse::<DnsTarget>().unwrap_err();
            assert!(e.contains(why), "{ep}: {e}");
            assert!(e.contains(&format!("`{ep}`")), "{ep}: {e}");
        }
    }
}
