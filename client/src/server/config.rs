//! Limits and timeouts of a serving loop (PROTOCOL.md §8).

use std::time::Duration;

/// The largest message a rpc-mode server accepts by default: 16 MiB.
pub const DEFAULT_RPC_MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// The largest message a raw-mode server accepts by default: 256 MiB.
pub const DEFAULT_RAW_MAX_MESSAGE: usize = 256 * 1024 * 1024;
/// Requests in flight per peer by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// Limits and timeouts of [`run_rpc`](super::run_rpc) and
/// [`run_raw`](super::run_raw).
///
/// ```
/// use plug::server::ServerConfig;
/// let config = ServerConfig::rpc().max_in_flight(64);
/// assert_eq!(config.max_message_bytes, 16 * 1024 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Body bytes (all frames after the envelope) accepted in one message;
    /// larger ones get -32001 in rpc mode and are dropped with a
    /// warning in raw mode. Default: 16 MiB (rpc), 256 MiB (raw).
    pub max_message_bytes: usize,
    /// Requests of one peer being handled or replied to at once; the excess
    /// gets -32002 in rpc mode. In raw mode this is the length of the
    /// peer's queue (see [`run_raw`](super::run_raw) for when it drops).
    /// Default 1024.
    pub max_in_flight: usize,
    /// How long a reply waits for room in a peer's full queue before it is
    /// dropped (with a warning, counted in [`Stats`](super::Stats)).
    /// Default 10 seconds.
    pub send_timeout: Duration,
    /// After the shutdown signal, how long in-flight requests may take to
    /// finish before the loop returns anyway. Default 65 seconds, longer
    /// than the longest `sleep` the echo server accepts.
    pub drain_timeout: Duration,
}

impl ServerConfig {
    /// Defaults for rpc mode.
    pub fn rpc() -> ServerConfig {
        ServerConfig {
            max_message_bytes: DEFAULT_RPC_MAX_MESSAGE,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            send_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(65),
        }
    }

    /// Defaults for raw mode.
    pub fn raw() -> ServerConfig {
        ServerConfig {
            max_message_bytes: DEFAULT_RAW_MAX_MESSAGE,
            ..ServerConfig::rpc()
        }
    }

    /// Sets [`ServerConfig::max_message_bytes`].
    pub fn max_message_bytes(mut self, bytes: usize) -> ServerConfig {
        self.max_message_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::max_in_flight`] (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> ServerConfig {
        self.max_in_flight = n.max(1);
        self
    }

    /// Sets [`ServerConfig::send_timeout`].
    pub fn send_timeout(mut self, t: Duration) -> ServerConfig {
        self.send_timeout = t;
        self
    }

    /// Sets [`ServerConfig::drain_timeout`].
    pub fn drain_timeout(mut self, t: Duration) -> ServerConfig {
        self.drain_timeout = t;
        self
    }
}

impl Default for ServerConfig {
    /// The rpc-mode defaults.
    fn default() -> ServerConfig {
        ServerConfig::rpc()
    }
}
