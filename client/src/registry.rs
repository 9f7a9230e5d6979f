//! [`Plugs`]: an application's named plugs, like the seed's `SS.plugs.NAME`.

use std::collections::BTreeMap;

use crate::{Config, ConfigError, Error, PlugBuilder, RawPlug, RpcPlug};

/// A plug of either kind.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Plug {
    /// `callbacks = false`.
    Raw(RawPlug),
    /// `callbacks = true`.
    Rpc(RpcPlug),
}

impl Plug {
    /// The plug's name.
    pub fn name(&self) -> &str {
        match self {
            Plug::Raw(p) => p.name(),
            Plug::Rpc(p) => p.name(),
        }
    }
}

/// The plugs of an application, opened from its configuration.
///
/// ```no_run
/// # async fn demo() -> Result<(), plug::Error> {
/// let config = plug::Config::from_file("plugs.toml")?;
/// let plugs = plug::Plugs::open(&config)?;
/// plugs.raw("velocity")?.send("Hello from Rust").await?;
/// let reply = plugs.rpc("boomerang")?
///     .request(serde_json::json!({"method": "getPlayers"}))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Plugs {
    plugs: BTreeMap<String, Plug>,
}

impl Plugs {
    /// Opens every configured plug; none when `plug_sockets.enabled` is not
    /// `true`. Must be called inside a tokio runtime.
    pub fn open(config: &Config) -> Result<Plugs, Error> {
        let mut plugs = BTreeMap::new();
        if !config.enabled {
            tracing::info!("plug_sockets.enabled is not true; no plug opened");
            return Ok(Plugs { plugs });
        }
        for (name, cfg) in &config.plugs {
            let plug = PlugBuilder::from_config(cfg.clone()).open()?;
            plugs.insert(name.clone(), plug);
        }
        Ok(Plugs { plugs })
    }

    /// Adds a plug built in code.
    pub fn insert(&mut self, plug: Plug) {
        self.plugs.insert(plug.name().to_owned(), plug);
    }

    /// The plug called `name`.
    pub fn get(&self, name: &str) -> Option<&Plug> {
        self.plugs.get(name)
    }

    /// The raw plug called `name`; an error if there is none or it is a
    /// rpc plug.
    pub fn raw(&self, name: &str) -> Result<&RawPlug, Error> {
        match self.plugs.get(name) {
            Some(Plug::Raw(p)) => Ok(p),
            Some(Plug::Rpc(_)) => Err(self.wrong_kind(name, "an rpc plug, not raw")),
            None => Err(self.missing(name)),
        }
    }

    /// The rpc plug called `name`.
    pub fn rpc(&self, name: &str) -> Result<&RpcPlug, Error> {
        match self.plugs.get(name) {
            Some(Plug::Rpc(p)) => Ok(p),
            Some(Plug::Raw(_)) => Err(self.wrong_kind(name, "a raw plug (set callbacks = true)")),
            None => Err(self.missing(name)),
        }
    }

    /// The names of the open plugs.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plugs.keys().map(String::as_str)
    }

    fn missing(&self, name: &str) -> Error {
        let known: Vec<&str> = self.names().collect();
        Error::Config(ConfigError::new(
            format!("plug_sockets.plugs.{name}"),
            format!("no such plug is open (open: {})", known.join(", ")),
        ))
    }

    fn wrong_kind(&self, name: &str, what: &str) -> Error {
        Error::Config(ConfigError::new(
            format!("plug_sockets.plugs.{name}.callbacks"),
            format!("`{name}` is {what}"),
        ))
    }
}
