//! `plug probe ENDPOINT`: is the server there and serving? For readiness
//! checks (a Kubernetes readinessProbe, a script waiting for a server).
//!
//! The probe opens a connection of its own, sends one message and waits
//! for the answer, all within `--timeout`:
//!
//! ```text
//! rpc (default):  {"id":1,"method":"ping"}   ready when the reply has a result
//! --raw:          plug probe                 ready when the same frame comes back
//! ```
//!
//! The rpc probe reads the reply itself rather than through an rpc plug,
//! which would hide a -32003 (the server is shutting down) by waiting for
//! another server: here that is the answer, and it means "not ready".

use std::time::Duration;

use clap::Args;
use plug::protocol::{codes, encode_request, ReplyBody};
use plug::{Error, Frame, RawPlug};
use serde_json::Map;

use crate::args::TargetArgs;
use crate::failure::{Failure, EXIT_PROTOCOL, EXIT_REMOTE, EXIT_TRANSPORT};
use crate::target::plug_config;

/// What the raw probe sends, and expects back.
const RAW_PROBE: &str = "plug probe";

/// The id of the probe's ping.
const PING_ID: u64 = 1;

/// Flags of `plug probe`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit status: 0 ready; 1 the server answered but is not ready \
(an error reply, such as -32003 while it shuts down, or a raw answer that is not the echo); \
2 bad usage; 3 no connection or no answer within --timeout; 4 the answer broke the protocol."
)]
pub struct ProbeArgs {
    /// The server's endpoint, e.g. tcp://127.0.0.1:9000.
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: String,
    /// Probe a raw-mode server: send one frame and expect it back unchanged,
    /// instead of an rpc `ping`.
    #[arg(long)]
    pub raw: bool,
    /// How long the whole probe may take (connecting included), in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout: u64,
    /// The server's CURVE public key (Z85), for a server that encrypts.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub server_key: Option<String>,
    /// This plug's CURVE secret key, in a file, for a server with an
    /// allow-list [default: a new key pair].
    #[arg(long, value_name = "FILE", requires = "server_key")]
    pub secret_key_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub transport: plug_flags::TransportFlag,
}

/// Runs the probe and says on stdout that the server is ready, or fails
/// with the reason it is not.
pub async fn run(args: ProbeArgs) -> Result<(), Failure> {
    println!("{}", probe(args).await?);
    Ok(())
}

/// The probe; `Ok` is the line that says the server is ready.
async fn probe(args: ProbeArgs) -> Result<String, Failure> {
    if args.timeout == 0 {
        return Err(Failure::usage("--timeout must be at least 1 ms"));
    }
    let target = TargetArgs {
        config: None,
        plug: None,
        timeout: Some(args.timeout),
        envelope: None,
        server_key: args.server_key,
        secret_key_file: args.secret_key_file,
        transport: args.transport,
    };
    let endpoint = args.endpoint;
    let parsed = crate::target::parse_endpoint(&endpoint)?;
    let config = plug_config(&target, Some(parsed), false)?;
    let timeout = config.timeout;
    let plug = RawPlug::open(config).map_err(|e| match e {
        Error::Config(_) | Error::CurveUnavailable(_) => Failure::usage(e),
        e => Failure::new(EXIT_TRANSPORT, format!("{endpoint}: {e}")),
    })?;
    let mut inbox = plug.messages().expect("a new plug has its inbox");
    let question = if args.raw {
        Frame::from(RAW_PROBE)
    } else {
        let mut ping = Map::new();
        ping.insert("method".into(), "ping".into());
        Frame::from(encode_request(ping, Some(PING_ID)))
    };
    let asked = async {
        plug.send(question).await?;
        Ok::<_, Error>(inbox.recv().await)
    };
    let answer = match tokio::time::timeout(timeout, asked).await {
        Ok(Ok(Some(message))) => message,
        Ok(Ok(None)) => return Err(Failure::new(EXIT_TRANSPORT, "the plug closed")),
        Ok(Err(e)) if !e.is_timeout() => {
            return Err(Failure::new(EXIT_TRANSPORT, format!("{endpoint}: {e}")))
        }
        Ok(Err(_)) | Err(_) => return Err(silence(&plug, &endpoint, timeout, args.raw)),
    };
    let frames = answer.frames();
    if args.raw {
        return match frames {
            [one] if &one[..] == RAW_PROBE.as_bytes() => {
                Ok(format!("ready: {endpoint} echoed the probe"))
            }
            _ => Err(Failure::new(
                EXIT_REMOTE,
                format!(
                    "not ready: {endpoint} answered {} frame(s) that are not the echo of `{RAW_PROBE}`",
                    frames.len()
                ),
            )),
        };
    }
    let broke = |why: String| {
        Failure::new(
            EXIT_PROTOCOL,
            format!("{endpoint}: the answer to ping broke the protocol: {why}"),
        )
    };
    let [body] = frames else {
        return Err(broke(format!("{} frames, expected 1", frames.len())));
    };
    let reply = ReplyBody::parse(body).map_err(|e| broke(e.to_string()))?;
    if reply.counter_id() != Some(PING_ID) {
        return Err(broke(format!(
            "the reply's id is {}, the ping's was {PING_ID}",
            reply.id().map_or("missing".to_owned(), |id| id.to_string())
        )));
    }
    match reply.outcome() {
        Ok(Ok(_)) => Ok(format!("ready: {endpoint} answered ping")),
        Ok(Err(error)) if error.code == codes::SHUTTING_DOWN => Err(Failure::new(
            EXIT_REMOTE,
            format!(
                "not ready: {endpoint} is shutting down (error {}: {})",
                error.code, error.message
            ),
        )),
        Ok(Err(error)) => Err(Failure::new(
            EXIT_REMOTE,
            format!(
                "not ready: {endpoint} answered ping with error {}: {}",
                error.code, error.message
            ),
        )),
        Err(e) => Err(broke(e.to_string())),
    }
}

/// Why nothing came back: no connection at all, or no answer on one.
fn silence(plug: &RawPlug, endpoint: &str, timeout: Duration, raw: bool) -> Failure {
    let ms = timeout.as_millis();
    let stats = plug.stats();
    let reason = if stats.sent == 0 {
        format!("cannot connect to {endpoint} within {ms} ms (is a server running there?)")
    } else {
        let what = if raw { "echo" } else { "answer to ping" };
        format!("no {what} from {endpoint} within {ms} ms")
    };
    Failure::new(EXIT_TRANSPORT, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::EXIT_USAGE;

    #[tokio::test]
    async fn a_zero_timeout_is_refused_before_any_work() {
        let args = ProbeArgs {
            endpoint: "tcp://127.0.0.1:1".into(),
            raw: false,
            timeout: 0,
            server_key: None,
            secret_key_file: None,
            transport: Default::default(),
        };
        let failure = probe(args).await.unwrap_err();
        assert_eq!(failure.code, EXIT_USAGE);
    }
}
