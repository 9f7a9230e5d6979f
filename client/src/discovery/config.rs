//! [`DiscoveryConfig`]: how often names are looked up again, and which DNS
//! server is asked.

use std::net::SocketAddr;
use std::time::Duration;

/// Shortest `discovery_refresh_ms`: a lookup every few milliseconds would
/// load the DNS server and learn nothing more.
pub(crate) const MIN_REFRESH: Duration = Duration::from_millis(100);
/// Longest `discovery_refresh_ms`: a day.
pub(crate) const MAX_REFRESH: Duration = Duration::from_secs(24 * 3600);

/// Settings for `dns+tcp://` endpoints, shared by every such endpoint of a
/// plug.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// How often a name is looked up again (`discovery_refresh_ms`).
    /// Default is 5 seconds.
    pub refresh: Duration,
    /// The DNS server to ask (`discovery_nameserver`), or `None` for the
    /// system's configuration (`/etc/resolv.conf`, and `/etc/hosts` first).
    /// Default is `None`.
    pub nameserver: Option<SocketAddr>,
}

impl Default for DiscoveryConfig {
    fn default() -> DiscoveryConfig {
        DiscoveryConfig {
            refresh: Duration::from_millis(5000),
            nameserver: None,
        }
    }
}

impl DiscoveryConfig {
    /// Checks the values; the error is `(key, message)` for a config error.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.refresh < MIN_REFRESH || self.refresh > MAX_REFRESH {
            return Err((
                "discovery_refresh_ms",
                format!(
                    "must be from {} to {}",
                    MIN_REFRESH.as_millis(),
                    MAX_REFRESH.as_millis()
                ),
            ));
        }
        if let Some(ns) = self.nameserver {
            if ns.port() == 0 || ns.ip().is_unspecified() {
                return Err((
                    "discovery_nameserver",
                    format!("`{ns}` is not a server address (expected IP:PORT, e.g. 127.0.0.1:53)"),
                ));
            }
        }
        Ok(())
    }
}

/// Parses `discovery_nameserver`: `IP:PORT`, with an IPv6 address in
/// brackets.
pub(crate) fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!("`{text}` is not IP:PORT (e.g. 127.0.0.1:53 or [::1]:53; a name is not accepted, it would need a DNS server of its own)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = DiscoveryConfig::default();
        assert_eq!(c.refresh, Duration::from_secs(5));
        assert_eq!(c.nameserver, None);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn refresh_out_of_range_names_its_key() {
        for ms in [0, 99, 24 * 3600 * 1000 + 1] {
            let c = DiscoveryConfig {
                refresh: Duration::from_millis(ms),
                ..DiscoveryConfig::default()
            };
            assert_eq!(c.validate().unwrap_err().0, "discovery_refresh_ms", "{ms}");
        }
        let c = DiscoveryConfig {
            refresh: MIN_REFRESH,
            ..DiscoveryConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn nameserver_is_ip_and_port() {
        assert_eq!(
            parse_nameserver("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(parse_nameserver("[::1]:53").unwrap().port(), 53);
        for bad in ["127.0.0.1", "ns.example:53", "::1:53", "", "127.0.0.1:x"] {
            assert!(
                parse_nameserver(bad).unwrap_err().contains("IP:PORT"),
                "{bad}"
            );
        }
        for unusable in ["127.0.0.1:0", "0.0.0.0:53"] {
            let c = DiscoveryConfig {
                nameserver: Some(unusable.parse().unwrap()),
                ..DiscoveryConfig::default()
            };
            assert_eq!(
                c.validate().unwrap_err().0,
                "discovery_nameserver",
                "{unusable}"
            );
        }
    }
}
