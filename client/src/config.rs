//! Configuration: the seed's `plug_sockets` block, in TOML.
//!
//! ```toml
//! [plug_sockets]
//! enabled = true
//!
//! [plug_sockets.plugs.velocity]
//! connect_to = "tcp://127.0.0.1:5000"
//!
//! [plug_sockets.plugs.boomerang]
//! connect_to = ["tcp://127.0.0.1:9000", "tcp://127.0.0.1:9001"]
//! callbacks = true
//! debug = true
//! timeout_ms = 2000
//! ```
//!
//! Every key of a plug, with its default:
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `connect_to` | required | one endpoint or a list; libzmq spreads requests across a list; `dns+tcp://NAME:PORT` stands for every address of `NAME` ([`crate::Discovery`]) |
//! | `callbacks` | `false` | rpc mode, JSON requests with ids and replies (`true`), or raw frames (`false`) |
//! | `debug` | `false` | log every message out and in at `info` level |
//! | `timeout_ms` | `5000` | how long a request waits for its reply (rpc) or a send for room (raw) |
//! | `envelope` | `"bare"` | `"bare"` sends `[body]`; `"delimited"` sends `["", body]` like a REQ socket |
//! | `max_in_flight` | `10000` | requests waiting for replies at once (rpc) |
//! | `backpressure` | `"wait"` | past `max_in_flight`: `"wait"` for a free slot within the timeout, or `"fail"` at once |
//! | `high_water_mark` | `1000` | libzmq's send and receive queue limit, in messages |
//! | `inbox_capacity` | `1024` | unmatched or raw messages held for the message handler |
//! | `retries` | `0` | resends of a request marked idempotent ([`crate::RpcPlug::request_idempotent`]) after a timeout |
//! | `retry_backoff_ms` | `100` | wait before the first resend; doubles for each later one |
//! | `heartbeat_ms` | `0` (off) | libzmq heartbeats: a connection silent for 3 intervals is dropped and redialled |
//! | `server_key` | none (plain text) | the server's CURVE public key (Z85, 40 characters): encrypt and authenticate |
//! | `public_key`, `secret_key` | generated | the plug's own CURVE key pair, both or neither |
//! | `discovery_refresh_ms` | `5000` | how often a `dns+tcp://` name is looked up again (100 to 86400000) |
//! | `discovery_nameserver` | system (`/etc/resolv.conf`) | the DNS server for `dns+tcp://` names, `IP:PORT` |

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::curve::CurveClient;
use crate::discovery::{parse_nameserver, DiscoveryConfig};
use crate::error::ConfigError;
use crate::protocol::EnvelopeStyle;
use crate::Endpoint;

/// What a plug does when `max_in_flight` requests are already waiting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Backpressure {
    /// Wait for a free slot, within the request's timeout. The default.
    #[default]
    Wait,
    /// Fail at once with [`crate::Error::Busy`].
    Fail,
}

/// One plug's settings. Build one with [`crate::PlugBuilder`] or read a file
/// with [`Config`].
#[derive(Clone, Debug, PartialEq)]
pub struct PlugConfig {
    /// The plug's name, e.g. `velocity`.
    pub name: String,
    /// Endpoints to connect to.
    pub connect_to: Vec<String>,
    /// Rpc mode (`true`: JSON requests with ids) or raw mode; the file
    /// key is `callbacks`, as in SocketStream's config.
    pub rpc: bool,
    /// Log every message at `info` level.
    pub debug: bool,
    /// Request deadline.
    pub timeout: Duration,
    /// Envelope style.
    pub envelope: EnvelopeStyle,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// What to do past `max_in_flight`.
    pub backpressure: Backpressure,
    /// libzmq send and receive high-water mark.
    pub high_water_mark: i32,
    /// Messages held for the message handler.
    pub inbox_capacity: usize,
    /// Resends of an idempotent request after a timeout.
    pub retries: u32,
    /// Wait before the first resend; doubles each time.
    pub retry_backoff: Duration,
    /// libzmq heartbeat interval; zero is off.
    pub heartbeat: Duration,
    /// CURVE encryption and authentication; `None` is plain text.
    pub curve: Option<CurveClient>,
    /// How `dns+tcp://` endpoints are looked up.
    pub discovery: DiscoveryConfig,
}

impl PlugConfig {
    /// Defaults for a plug named `name` with no endpoint yet.
    pub fn new(name: impl Into<String>) -> PlugConfig {
        PlugConfig {
            name: name.into(),
            connect_to: Vec::new(),
            rpc: false,
            debug: false,
            timeout: Duration::from_millis(5000),
            envelope: EnvelopeStyle::Bare,
            max_in_flight: 10_000,
            backpressure: Backpressure::Wait,
            high_water_mark: 1000,
            inbox_capacity: 1024,
            retries: 0,
            retry_backoff: Duration::from_millis(100),
            heartbeat: Duration::ZERO,
            curve: None,
            discovery: DiscoveryConfig::default(),
        }
    }

    /// Checks every value; the error names the key under `prefix`.
    pub(crate) fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{prefix}{k}");
        if self.connect_to.is_empty() {
            return Err(ConfigError::new(
                key("connect_to"),
                "at least one endpoint is required",
            ));
        }
        for ep in &self.connect_to {
            ep.parse::<Endpoint>()
                .map_err(|e| ConfigError::new(key("connect_to"), e.to_string()))?;
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new(
                key("timeout_ms"),
                "must be greater than 0",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::new(
                key("max_in_flight"),
                "must be greater than 0",
            ));
        }
        if self.high_water_mark < 0 {
            return Err(ConfigError::new(
                key("high_water_mark"),
                "must be 0 (no limit) or more",
            ));
        }
        if self.heartbeat > Duration::from_millis(i32::MAX as u64 / 3) {
            return Err(ConfigError::new(key("heartbeat_ms"), "is too large"));
        }
        if let Some(curve) = &self.curve {
            curve
                .validate()
                .map_err(|(k, message)| ConfigError::new(key(k), message))?;
        }
        if self.inbox_capacity == 0 {
            return Err(ConfigError::new(
                key("inbox_capacity"),
                "must be greater than 0",
            ));
        }
        self.discovery
            .validate()
            .map_err(|(k, message)| ConfigError::new(key(k), message))?;
        Ok(())
    }
}

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// `plug_sockets.enabled`: plugs are off unless this is `true`.
    pub enabled: bool,
    /// The plugs by name, in name order.
    pub plugs: BTreeMap<String, PlugConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoot {
    plug_sockets: FileSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSection {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    plugs: BTreeMap<String, FilePlug>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlug {
    connect_to: OneOrMany,
    callbacks: Option<bool>,
    debug: Option<bool>,
    timeout_ms: Option<u64>,
    envelope: Option<EnvelopeStyle>,
    max_in_flight: Option<usize>,
    backpressure: Option<Backpressure>,
    high_water_mark: Option<i32>,
    inbox_capacity: Option<usize>,
    retries: Option<u32>,
    retry_backoff_ms: Option<u64>,
    heartbeat_ms: Option<u64>,
    server_key: Option<String>,
    public_key: Option<String>,
    secret_key: Option<String>,
    discovery_refresh_ms: Option<u64>,
    discovery_nameserver: Option<String>,
}

impl Config {
    /// Parses TOML text. Errors name the bad key.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::new(text);
        let root: FileRoot = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let message = first_line_of_toml_error(&inner, text);
            ConfigError::new(if key == "." { String::new() } else { key }, message)
        })?;
        let mut plugs = BTreeMap::new();
        for (name, p) in root.plug_sockets.plugs {
            let prefix = format!("plug_sockets.plugs.{name}.");
            let defaults = PlugConfig::new(name.clone());
            let curve = match (p.server_key, p.public_key, p.secret_key) {
                (Some(server_key), public_key, secret_key) => Some(CurveClient {
                    server_key,
                    public_key,
                    secret_key,
                }),
                (None, None, None) => None,
                (None, public, _) => {
                    let k = if public.is_some() {
                        "public_key"
                    } else {
                        "secret_key"
                    };
                    return Err(ConfigError::new(
                        format!("{prefix}{k}"),
                        "a plug key pair needs `server_key` (the server's public key) too",
                    ));
                }
            };
            let discovery = DiscoveryConfig {
                refresh: p
                    .discovery_refresh_ms
                    .map_or(defaults.discovery.refresh, Duration::from_millis),
                nameserver: match p.discovery_nameserver {
                    None => None,
                    Some(text) => Some(parse_nameserver(&text).map_err(|message| {
                        ConfigError::new(format!("{prefix}discovery_nameserver"), message)
                    })?),
                },
            };
            let cfg = PlugConfig {
                connect_to: match p.connect_to {
                    OneOrMany::One(s) => vec![s],
                    OneOrMany::Many(v) => v,
                },
                rpc: p.callbacks.unwrap_or(defaults.rpc),
                debug: p.debug.unwrap_or(defaults.debug),
                timeout: p.timeout_ms.map_or(defaults.timeout, Duration::from_millis),
                envelope: p.envelope.unwrap_or(defaults.envelope),
                max_in_flight: p.max_in_flight.unwrap_or(defaults.max_in_flight),
                backpressure: p.backpressure.unwrap_or(defaults.backpressure),
                high_water_mark: p.high_water_mark.unwrap_or(defaults.high_water_mark),
                inbox_capacity: p.inbox_capacity.unwrap_or(defaults.inbox_capacity),
                retries: p.retries.unwrap_or(defaults.retries),
                retry_backoff: p
                    .retry_backoff_ms
                    .map_or(defaults.retry_backoff, Duration::from_millis),
                heartbeat: p
                    .heartbeat_ms
                    .map_or(defaults.heartbeat, Duration::from_millis),
                curve,
                discovery,
                name: name.clone(),
            };
            cfg.validate(&prefix)?;
            plugs.insert(name, cfg);
        }
        Ok(Config {
            enabled: root.plug_sockets.enabled,
            plugs,
        })
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("", format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text)
    }

    /// One plug's settings by name.
    pub fn plug(&self, name: &str) -> Result<&PlugConfig, ConfigError> {
        self.plugs.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.plugs.keys().map(String::as_str).collect();
            ConfigError::new(
                format!("plug_sockets.plugs.{name}"),
                format!("no such plug (configured: {})", known.join(", ")),
            )
        })
    }
}

fn first_line_of_toml_error(e: &toml::de::Error, text: &str) -> String {
    let span = e
        .span()
        .map(|s| {
            let (line, column) = line_and_column(text, s.start);
            format!(" (line {line}, column {column})")
        })
        .unwrap_or_default();
    let msg = e.message().trim().replace('\n', " ");
    let msg = match msg.as_str() {
        "data did not match any variant of untagged enum OneOrMany" => {
            "expected an endpoint string or a list of endpoint strings".to_owned()
        }
        _ => msg,
    };
    format!("{msg}{span}")
}

/// The 1-based line and column (in characters) of a byte offset in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"
[plug_sockets]
enabled = true

[plug_sockets.plugs.velocity]
connect_to = "tcp://127.0.0.1:5000"

[plug_sockets.plugs.boomerang]
connect_to = ["tcp://127.0.0.1:9000", "ipc:///tmp/boom"]
callbacks = true
debug = true
timeout_ms = 250
envelope = "delimited"
max_in_flight = 8
backpressure = "fail"
retries = 2
retry_backoff_ms = 10
heartbeat_ms = 500
"#;

    #[test]
    fn seed_shape_parses_with_defaults() {
        let c = Config::from_toml(SEED).unwrap();
        assert!(c.enabled);
        let v = c.plug("velocity").unwrap();
        assert_eq!(v.connect_to, vec!["tcp://127.0.0.1:5000"]);
        assert!(!v.rpc);
        assert_eq!(v.timeout, Duration::from_secs(5));
        let b = c.plug("boomerang").unwrap();
        assert!(b.rpc && b.debug);
        assert_eq!(b.connect_to.len(), 2);
        assert_eq!(b.timeout, Duration::from_millis(250));
        assert_eq!(b.envelope, EnvelopeStyle::Delimited);
        assert_eq!(b.max_in_flight, 8);
        assert_eq!(b.backpressure, Backpressure::Fail);
        assert_eq!(b.retries, 2);
        assert_eq!(b.retry_backoff, Duration::from_millis(10));
        assert_eq!(b.heartbeat, Duration::from_millis(500));
        assert_eq!(v.retries, 0);
        assert_eq!(v.heartbeat, Duration::ZERO);
    }

    fn err(text: &str) -> ConfigError {
        Config::from_toml(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_key() {
        let plug = "[plug_sockets]\nenabled = true\n[plug_sockets.plugs.v]\nconnect_to = \"tcp://127.0.0.1:1\"\n";
        let e = err(&format!("{plug}conect_to = 1\n"));
        assert!(e.to_string().contains("conect_to"), "{e}");
        let e = err(&format!("{plug}timeout_ms = \"fast\"\n"));
        assert_eq!(e.key, "plug_sockets.plugs.v.timeout_ms", "{e}");
        let e = err(&format!("{plug}timeout_ms = 0\n"));
        assert_eq!(e.key, "plug_sockets.plugs.v.timeout_ms");
        let e = err(&format!("{plug}envelope = \"req\"\n"));
        assert_eq!(e.key, "plug_sockets.plugs.v.envelope", "{e}");
        let e = err("[plug_sockets.plugs.v]\nconnect_to = \"http://x\"\n");
        assert_eq!(e.key, "plug_sockets.plugs.v.connect_to");
        assert!(e.message.contains("unsupported transport `http`"), "{e}");
        for bad in ["tcp://256.1.1.1:1", "tcp://127.0.0.1:99999", "foo"] {
            let e = err(&format!(
                "[plug_sockets.plugs.v]\nconnect_to = [\"{bad}\"]\n"
            ));
            assert_eq!(e.key, "plug_sockets.plugs.v.connect_to", "{e}");
            assert!(e.message.starts_with(&format!("`{bad}`: ")), "{e}");
        }
        let e = err("[plug_sockets.plugs.v]\nconnect_to = 5\n");
        assert_eq!(e.key, "plug_sockets.plugs.v.connect_to", "{e}");
        let e = err("[plug_sockets.plugs.v]\ncallbacks = true\n");
        assert!(e.to_string().contains("connect_to"), "{e}");
        let e = err("[plug_socket]\nenabled = true\n");
        assert!(e.to_string().contains("plug_socket"), "{e}");
        let e = err("[plug_sockets\n");
        assert!(e.key.is_empty());
    }

    #[test]
    fn toml_errors_give_line_and_column() {
        let e = err("[plug_sockets]\n# é\n[plug_sockets.plugs.v]\nconnect_to = \"tcp://127.0.0.1:1\"\ntimeout_ms = -5\n");
        assert_eq!(
            e.to_string(),
            "config key `plug_sockets.plugs.v.timeout_ms`: invalid value: integer `-5`, \
             expected u64 (line 5, column 14)"
        );
        assert_eq!(line_and_column("ab\ncé\nx", 7), (3, 1));
        assert_eq!(line_and_column("ab\ncé\nx", 6), (2, 3));
        assert_eq!(line_and_column("ab\ncé\nx", 5), (2, 2)); // inside `é`
        assert_eq!(line_and_column("", 0), (1, 1));
    }

    #[test]
    fn discovery_endpoints_and_keys() {
        let c = Config::from_toml(
            r#"
[plug_sockets.plugs.fleet]
connect_to = ["dns+tcp://game.default.svc:9000", "tcp://127.0.0.1:9001"]
discovery_refresh_ms = 250
discovery_nameserver = "127.0.0.1:5353"
"#,
        )
        .unwrap();
        let f = c.plug("fleet").unwrap();
        assert_eq!(f.connect_to[0], "dns+tcp://game.default.svc:9000");
        assert_eq!(f.discovery.refresh, Duration::from_millis(250));
        assert_eq!(
            f.discovery.nameserver,
            Some("127.0.0.1:5353".parse().unwrap())
        );
        let v = Config::from_toml(SEED).unwrap();
        assert_eq!(
            v.plug("velocity").unwrap().discovery,
            DiscoveryConfig::default()
        );
    }

    #[test]
    fn discovery_errors_name_the_key() {
        let plug = "[plug_sockets.plugs.f]\nconnect_to = \"dns+tcp://fleet:9000\"\n";
        let e = err(&format!("{plug}discovery_refresh_ms = 0\n"));
        assert_eq!(e.key, "plug_sockets.plugs.f.discovery_refresh_ms", "{e}");
        let e = err(&format!("{plug}discovery_refresh_ms = -1\n"));
        assert_eq!(e.key, "plug_sockets.plugs.f.discovery_refresh_ms", "{e}");
        let e = err(&format!(
            "{plug}discovery_nameserver = \"ns1.example:53\"\n"
        ));
        assert_eq!(e.key, "plug_sockets.plugs.f.discovery_nameserver", "{e}");
        assert!(e.message.contains("IP:PORT"), "{e}");
        let e = err(&format!("{plug}discovery_nameserver = \"127.0.0.1:0\"\n"));
        assert_eq!(e.key, "plug_sockets.plugs.f.discovery_nameserver", "{e}");
        let e = err(&format!("{plug}discovery_nameserver = 53\n"));
        assert_eq!(e.key, "plug_sockets.plugs.f.discovery_nameserver", "{e}");
        let e = err("[plug_sockets.plugs.f]\nconnect_to = \"dns+tcp://fleet\"\n");
        assert_eq!(e.key, "plug_sockets.plugs.f.connect_to", "{e}");
        assert!(e.message.contains("no port"), "{e}");
    }

    #[test]
    fn missing_plug_lists_the_known_ones() {
        let c = Config::from_toml(SEED).unwrap();
        let e = c.plug("nope").unwrap_err();
        assert!(e.message.contains("boomerang, velocity"), "{e}");
    }
}
