//! Discovery: a `dns+tcp://NAME:PORT` endpoint stands for every address
//! `NAME` resolves to.
//!
//! A fleet of replicas behind one name (a Kubernetes headless Service, or a
//! name with several A records) is one endpoint in a plug's `connect_to`:
//!
//! ```toml
//! [plug_sockets.plugs.boomerang]
//! connect_to = "dns+tcp://game.default.svc.cluster.local:9000"
//! callbacks = true
//! discovery_refresh_ms = 5000          # look the name up again this often
//! # discovery_nameserver = "127.0.0.1:5353"   # default: /etc/resolv.conf
//! ```
//!
//! Why a scheme of its own rather than `tcp://NAME:PORT`: libzmq resolves a
//! `tcp://` name itself, once, to its first address, and that keeps its
//! meaning here. `dns+tcp://` says that the plug resolves the name, to every
//! A and AAAA record, again and again, and connects over `tcp://` to each
//! (the `dns+` prefix in the manner of `mongodb+srv://`). The port is the
//! same for every address, as in a Service whose pods all listen on one
//! port.
//!
//! [`Discovery`] looks the name up at once, then every refresh period and
//! whenever [`Discovery::refresh`] asks (a plug does when it loses an
//! endpoint), and publishes the sorted set of `tcp://IP:PORT` endpoints
//! through a [`tokio::sync::watch`] channel, only when it changes. A lookup
//! that fails or finds no address changes nothing: it is logged and counted,
//! and the last good set stays. The DNS server is the system's
//! (`/etc/resolv.conf`, search domains and `/etc/hosts` included) unless one
//! is configured.
//!
//! Layout: `target` parses the endpoint, `config` holds the settings,
//! `resolver` makes one lookup with hickory-resolver, `refresh` is the loop
//! and its counters, `error` says why discovery could not start.

mod config;
mod error;
mod refresh;
mod resolver;
mod target;

use std::sync::Arc;

use tokio::sync::watch;

pub(crate) use config::parse_nameserver;
pub use config::DiscoveryConfig;
pub use error::DiscoveryError;
pub use target::DnsTarget;

use crate::ConfigError;
use refresh::Shared;
use resolver::DnsLookup;

/// The live set of endpoints behind one `dns+tcp://` name. Dropping it stops
/// the lookups.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let target: plug::DnsTarget = "dns+tcp://game.default.svc:9000".parse()?;
/// let discovery = plug::Discovery::start(target, &plug::DiscoveryConfig::default())?;
/// let mut endpoints = discovery.endpoints();
/// loop {
///     println!("now: {:?}", *endpoints.borrow_and_update()); // ["tcp://10.1.0.7:9000", ...]
///     endpoints.changed().await?;
/// }
/// # }
/// ```
pub struct Discovery {
    shared: Arc<Shared>,
}

impl Discovery {
    /// Starts looking `target` up: the first lookup begins at once. Must run
    /// inside a tokio runtime.
    pub fn start(target: DnsTarget, config: &DiscoveryConfig) -> Result<Discovery, DiscoveryError> {
        config
            .validate()
            .map_err(|(key, message)| ConfigError::new(key, message))?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| DiscoveryError::NoRuntime)?;
        let lookup = {
            let _enter = runtime.enter();
            DnsLookup::new(&target, config)?
        };
        let shared = Arc::new(Shared::new(target));
        runtime.spawn(refresh::run(shared.clone(), lookup, config.refresh));
        Ok(Discovery { shared })
    }

    /// The name and port looked up.
    pub fn target(&self) -> &DnsTarget {
        &self.shared.target
    }

    /// The current endpoints, and a way to wait for the next change. Empty
    /// until the first lookup finds an address.
    pub fn endpoints(&self) -> watch::Receiver<Vec<String>> {
        self.shared.endpoints.subscribe()
    }

    /// Asks for a lookup now, e.g. after an endpoint was lost. Demands made
    /// while one is pending make one lookup; it starts no sooner than 1 s
    /// (or the refresh period, if shorter) after the previous lookup.
    pub fn refresh(&self) {
        self.shared.demand.notify_one();
    }

    /// The endpoints and the lookup counters.
    pub fn stats(&self) -> DiscoveryStats {
        self.shared.stats()
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.shared.closed.cancel();
    }
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("target", &self.shared.target)
            .finish_non_exhaustive()
    }
}

/// A snapshot of one [`Discovery`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DiscoveryStats {
    /// The endpoint as configured, `dns+tcp://NAME:PORT`.
    pub target: String,
    /// The endpoints now, sorted: `tcp://IP:PORT`.
    pub endpoints: Vec<String>,
    /// Lookups finished, failed ones included.
    pub lookups: u64,
    /// Lookups that failed or found no address.
    pub failures: u64,
    /// Times the published set changed.
    pub changes: u64,
    /// The number of the lookup (counting from 1) that made the last change.
    pub changed_by_lookup: u64,
    /// Why the latest lookup failed; `None` when it succeeded.
    pub last_error: Option<String>,
}
