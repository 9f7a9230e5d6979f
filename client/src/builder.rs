//! [`PlugBuilder`]: a plug from code, without a config file.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::Backpressure;
use crate::curve::{CurveClient, Keypair};
use crate::protocol::EnvelopeStyle;
use crate::{Error, Plug, PlugConfig, RawPlug, RpcPlug};

/// Builds a plug. Every setter says its default.
///
/// ```no_run
/// # async fn demo() -> Result<(), plug::Error> {
/// use std::time::Duration;
/// let boomerang = plug::PlugBuilder::new("boomerang")
///     .connect_to("tcp://127.0.0.1:9000")
///     .timeout(Duration::from_secs(2))
///     .debug(true)
///     .rpc()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PlugBuilder {
    config: PlugConfig,
}

impl PlugBuilder {
    /// A plug named `name` (used in logs and errors).
    pub fn new(name: impl Into<String>) -> PlugBuilder {
        PlugBuilder {
            config: PlugConfig::new(name),
        }
    }

    /// Starts from a configuration, e.g. one read from a file.
    pub fn from_config(config: PlugConfig) -> PlugBuilder {
        PlugBuilder { config }
    }

    /// Adds an endpoint to connect to. Call it again for more endpoints;
    /// libzmq spreads requests across them. At least one is required.
    /// `dns+tcp://NAME:PORT` stands for every address of `NAME`
    /// ([`crate::Discovery`]).
    pub fn connect_to(mut self, endpoint: impl Into<String>) -> PlugBuilder {
        self.config.connect_to.push(endpoint.into());
        self
    }

    /// How long a request waits for its reply. Default is 5 seconds.
    pub fn timeout(mut self, timeout: Duration) -> PlugBuilder {
        self.config.timeout = timeout;
        self
    }

    /// The envelope style. Default is [`EnvelopeStyle::Bare`].
    pub fn envelope(mut self, envelope: EnvelopeStyle) -> PlugBuilder {
        self.config.envelope = envelope;
        self
    }

    /// Log every message at `info` level. Default is `false`.
    pub fn debug(mut self, debug: bool) -> PlugBuilder {
        self.config.debug = debug;
        self
    }

    /// Requests in flight at once. Default is 10,000.
    pub fn max_in_flight(mut self, n: usize) -> PlugBuilder {
        self.config.max_in_flight = n;
        self
    }

    /// What a request does past `max_in_flight`. Default is
    /// [`Backpressure::Wait`].
    pub fn backpressure(mut self, b: Backpressure) -> PlugBuilder {
        self.config.backpressure = b;
        self
    }

    /// libzmq's queue limit in messages, both ways. Default is 1000.
    pub fn high_water_mark(mut self, hwm: i32) -> PlugBuilder {
        self.config.high_water_mark = hwm;
        self
    }

    /// Messages held for the message handler before one is attached.
    /// Default is 1024.
    pub fn inbox_capacity(mut self, n: usize) -> PlugBuilder {
        self.config.inbox_capacity = n;
        self
    }

    /// Resends of a request made with
    /// [`RpcPlug::request_idempotent`] after a timeout, waiting
    /// `backoff` before the first and doubling it each time. Default is no
    /// resend and 100 ms.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> PlugBuilder {
        self.config.retries = retries;
        self.config.retry_backoff = backoff;
        self
    }

    /// libzmq heartbeats every `interval`; a connection silent for three
    /// intervals is dropped and redialled. Default is off (zero).
    pub fn heartbeat(mut self, interval: Duration) -> PlugBuilder {
        self.config.heartbeat = interval;
        self
    }

    /// Encrypts and authenticates with CURVE: `server_key` is the server's
    /// public key in Z85 text. The plug's own key pair is generated unless
    /// [`PlugBuilder::keypair`] gives one. Default is plain text. Opening
    /// fails with [`Error::CurveUnavailable`] when libzmq lacks CURVE.
    pub fn server_key(mut self, server_key: impl Into<String>) -> PlugBuilder {
        let server_key = server_key.into();
        match &mut self.config.curve {
            Some(curve) => curve.server_key = server_key,
            None => self.config.curve = Some(CurveClient::new(server_key)),
        }
        self
    }

    /// The plug's own CURVE key pair, for servers that admit known clients
    /// only. Default is a new pair for each plug. Needs
    /// [`PlugBuilder::server_key`].
    pub fn keypair(mut self, pair: &Keypair) -> PlugBuilder {
        let curve = self
            .config
            .curve
            .get_or_insert_with(|| CurveClient::new(String::new()));
        curve.public_key = Some(pair.public().to_owned());
        curve.secret_key = Some(pair.secret().to_owned());
        self
    }

    /// How often each `dns+tcp://` endpoint's name is looked up again.
    /// Default is 5 seconds.
    pub fn discovery_refresh(mut self, every: Duration) -> PlugBuilder {
        self.config.discovery.refresh = every;
        self
    }

    /// The DNS server that `dns+tcp://` names are looked up at. Default is
    /// the system's configuration (`/etc/resolv.conf`).
    pub fn discovery_nameserver(mut self, server: SocketAddr) -> PlugBuilder {
        self.config.discovery.nameserver = Some(server);
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &PlugConfig {
        &self.config
    }

    /// Opens a raw plug.
    pub fn raw(self) -> Result<RawPlug, Error> {
        RawPlug::open(self.config)
    }

    /// Opens an rpc plug.
    pub fn rpc(self) -> Result<RpcPlug, Error> {
        RpcPlug::open(self.config)
    }

    /// Opens the kind of plug the configuration asks for: rpc when
    /// [`PlugConfig::rpc`] is set (`callbacks = true` in a file), else raw.
    pub fn open(self) -> Result<Plug, Error> {
        if self.config.rpc {
            self.rpc().map(Plug::Rpc)
        } else {
            self.raw().map(Plug::Raw)
        }
    }
}
