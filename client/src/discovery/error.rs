//! [`DiscoveryError`]: why discovery could not start.

use crate::ConfigError;

/// Why [`crate::Discovery::start`] failed. A failed lookup is no error: it is
/// logged and counted, and the last good endpoints stay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A setting is wrong; the error names its key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The system's DNS configuration (`/etc/resolv.conf`) cannot be read.
    #[error("cannot read the system's DNS configuration: {0}")]
    SystemConfig(String),
    /// The resolver could not be built from the configuration.
    #[error("cannot set up the DNS resolver: {0}")]
    Resolver(String),
    /// Called outside a tokio runtime.
    #[error("discovery needs a tokio runtime")]
    NoRuntime,
}
