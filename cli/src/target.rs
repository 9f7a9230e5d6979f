//! Turns the command line's endpoint or `--config/--plug` into a plug.

use std::time::Duration;

use plug::{Config, Endpoint, Keypair, PlugBuilder, PlugConfig};

use crate::args::TargetArgs;
use crate::failure::{Failure, EXIT_USAGE};

/// Splits the positional arguments into the endpoint (unless a configured
/// plug is named) and the rest. The endpoint is checked here, before any
/// work starts, and a bad one is named as the user typed it.
pub fn split_positionals(
    target: &TargetArgs,
    args: Vec<String>,
    rest_name: &str,
    rest_required: bool,
) -> Result<(Option<Endpoint>, Option<String>), Failure> {
    let mut args = args.into_iter();
    let endpoint = if target.plug.is_some() {
        None
    } else {
        Some(args.next().ok_or_else(|| {
            Failure::usage(
                "give an ENDPOINT (e.g. tcp://127.0.0.1:5000) or --config FILE --plug NAME",
            )
        })?)
    };
    let rest = args.next();
    if let Some(extra) = args.next() {
        return Err(Failure::usage(format!("unexpected argument `{extra}`")));
    }
    if rest.is_none() && rest_required {
        let how = if target.plug.is_some() {
            format!("missing {rest_name}")
        } else {
            format!("expected ENDPOINT and then {rest_name} (or --config FILE --plug NAME and {rest_name})")
        };
        return Err(Failure::usage(how));
    }
    Ok((endpoint.map(|e| parse_endpoint(&e)).transpose()?, rest))
}

/// The ENDPOINT argument, checked: `ENDPOINT `foo`: not an endpoint: ...`.
pub fn parse_endpoint(text: &str) -> Result<Endpoint, Failure> {
    text.parse()
        .map_err(|e| Failure::usage(format!("ENDPOINT {e}")))
}

/// The plug's configuration from the command line.
pub fn plug_config(
    target: &TargetArgs,
    endpoint: Option<Endpoint>,
    rpc: bool,
) -> Result<PlugConfig, Failure> {
    let mut config = match (&target.config, &target.plug) {
        (Some(file), Some(name)) => {
            let text = std::fs::read_to_string(file).map_err(|e| Failure::file("read", file, e))?;
            let config = Config::from_toml(&text).map_err(|e| Failure::new(EXIT_USAGE, e))?;
            config
                .plug(name)
                .map_err(|e| Failure::new(EXIT_USAGE, e))?
                .clone()
        }
        _ => {
            let endpoint = endpoint.ok_or_else(|| Failure::usage("missing ENDPOINT"))?;
            PlugBuilder::new("cli")
                .connect_to(endpoint.as_str())
                .config()
                .clone()
        }
    };
    config.rpc = rpc;
    if let Some(ms) = target.timeout {
        config.timeout = Duration::from_millis(ms);
    }
    if let Some(envelope) = target.envelope {
        config.envelope = envelope;
    }
    if let Some(key) = &target.server_key {
        let mut builder = PlugBuilder::from_config(config).server_key(key.trim());
        if let Some(path) = &target.secret_key_file {
            let text = std::fs::read_to_string(path).map_err(|e| Failure::file("read", path, e))?;
            let pair = Keypair::from_secret(text.trim())
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
            builder = builder.keypair(&pair);
        }
        config = builder.config().clone();
    }
    Ok(config)
}
