//! One lookup of a name's addresses: the system's DNS configuration or one
//! configured server, through hickory-resolver.

use std::future::Future;
use std::net::IpAddr;

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};

use super::{DiscoveryConfig, DiscoveryError, DnsTarget};

/// Looks a name up once. The refresh loop runs on this, so its tests can
/// script the answers.
pub(crate) trait Lookup: Send + Sync + 'static {
    /// Every address of the name, or why there is none.
    fn lookup(&self) -> impl Future<Output = Result<Vec<IpAddr>, String>> + Send;
}

/// Looks up the A and AAAA records of one target.
pub(crate) struct DnsLookup {
    resolver: TokioResolver,
    name: String,
}

impl DnsLookup {
    pub(crate) fn new(
        target: &DnsTarget,
        config: &DiscoveryConfig,
    ) -> Result<DnsLookup, DiscoveryError> {
        let mut builder = match config.nameserver {
            None => TokioResolver::builder_tokio()
                .map_err(|e| DiscoveryError::SystemConfig(e.to_string()))?,
            Some(server) => {
                let mut ns = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut ns.connections {
                    connection.port = server.port();
                }
                let mut builder = Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    TokioRuntimeProvider::default(),
                );
                // The configured server alone answers: /etc/hosts could
                // shadow a name the operator serves from it.
                builder.options_mut().use_hosts_file = ResolveHosts::Never;
                builder
            }
        };
        // Both families, in parallel; one empty family is not a failure.
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let resolver = builder
            .build()
            .map_err(|e| DiscoveryError::Resolver(e.to_string()))?;
        Ok(DnsLookup {
            resolver,
            name: target.name().to_owned(),
        })
    }
}

impl Lookup for DnsLookup {
    async fn lookup(&self) -> Result<Vec<IpAddr>, String> {
        // The refresh period is the plug's own cache: each refresh asks the
        // server again, so a record removed there is gone at the next one
        // (the system's resolver may still cache by TTL, as it should).
        self.resolver.clear_cache();
        let answer = self
            .resolver
            .lookup_ip(self.name.as_str())
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer.iter().collect())
    }
}
