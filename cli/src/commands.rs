//! The commands: dispatch, the helpers they share, and `send`.

use std::path::PathBuf;
use std::time::Duration;

use plug::{Endpoint, Frame, RawPlug, RpcPlug};
use serde_json::Value;

use crate::args::{Command, TargetArgs};
use crate::body;
use crate::failure::{Failure, EXIT_TRANSPORT};
use crate::output;
use crate::render;
use crate::target::{plug_config, split_positionals};

pub async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Request {
            args,
            target,
            compact,
            keep_id,
            stats,
        } => crate::request::request(args, target, compact, keep_id, stats).await,
        Command::Send {
            args,
            target,
            file,
            frame,
            wait,
            hex,
        } => send(args, target, file, frame, wait, hex).await,
        Command::Listen {
            endpoint,
            target,
            send,
            request,
            count,
            hex,
            json,
        } => {
            let options = crate::listen::Options {
                hello: send,
                request,
                count,
                hex,
                json,
            };
            crate::listen::listen(endpoint, target, options).await
        }
        Command::New {
            lang,
            dir,
            list,
            force,
        } => match (list, lang, dir) {
            (false, Some(lang), Some(dir)) => {
                output::print(&crate::new::create(&lang, &dir, force)?)
            }
            _ => output::print(&crate::new::list()),
        },
        Command::Probe(args) => crate::probe::run(args).await,
        Command::Keygen { out, force } => output::print(&crate::keygen::keygen(out, force)?),
    }
}

/// A request body: a JSON object.
pub fn parse_json(text: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Failure::usage(format!("the request is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Failure::usage(
            "the request must be a JSON object, e.g. '{\"method\":\"ping\"}'",
        ));
    }
    Ok(value)
}

pub fn print_json(v: &Value, compact: bool) -> Result<(), Failure> {
    let text = if compact {
        serde_json::to_string(v)
    } else {
        serde_json::to_string_pretty(v)
    };
    output::println(&text.expect("a JSON value prints"))
}

pub fn open_rpc(
    target: &TargetArgs,
    endpoint: Option<Endpoint>,
) -> Result<(RpcPlug, Vec<String>), Failure> {
    let config = plug_config(target, endpoint, true)?;
    let endpoints = config.connect_to.clone();
    let plug = RpcPlug::open(config).map_err(|e| Failure::from_plug(e, &endpoints))?;
    Ok((plug, endpoints))
}

pub fn open_raw(
    target: &TargetArgs,
    endpoint: Option<Endpoint>,
) -> Result<(RawPlug, Vec<String>, Duration), Failure> {
    let config = plug_config(target, endpoint, false)?;
    let endpoints = config.connect_to.clone();
    let timeout = config.timeout;
    let plug = RawPlug::open(config).map_err(|e| Failure::from_plug(e, &endpoints))?;
    Ok((plug, endpoints, timeout))
}

/// `no ... within N ms (is a server running at ...?)`, status 3.
pub fn nothing_within(what: &str, timeout: Duration, endpoints: &[String]) -> Failure {
    Failure::new(
        EXIT_TRANSPORT,
        format!(
            "no {what} within {} ms (is a server running at {}?)",
            timeout.as_millis(),
            endpoints.join(", ")
        ),
    )
}

async fn send(
    args: Vec<String>,
    target: TargetArgs,
    files: Vec<PathBuf>,
    texts: Vec<String>,
    wait: bool,
    hex: bool,
) -> Result<(), Failure> {
    let rest_required = files.is_empty() && texts.is_empty();
    let (endpoint, data) =
        split_positionals(&target, args, "DATA, --file or --frame", rest_required)?;
    let mut frames: Vec<Frame> = Vec::new();
    if let Some(data) = data {
        frames.push(Frame::from(body::read(&data)?));
    }
    for path in &files {
        let bytes = std::fs::read(path).map_err(|e| Failure::file("read", path, e))?;
        frames.push(Frame::from(bytes));
    }
    frames.extend(texts.into_iter().map(Frame::from));
    let (plug, endpoints, timeout) = open_raw(&target, endpoint)?;
    let mut inbox = plug.messages().expect("a new plug has its inbox");
    plug.send_multipart(frames)
        .await
        .map_err(|e| Failure::from_plug(e, &endpoints))?;
    if !wait {
        return Ok(());
    }
    match tokio::time::timeout(timeout, inbox.recv()).await {
        Ok(Some(m)) => output::print(&render::frames(m.frames(), hex)),
        Ok(None) => Err(Failure::new(
            EXIT_TRANSPORT,
            "the plug closed before a reply came",
        )),
        Err(_) => Err(nothing_within("message back", timeout, &endpoints)),
    }
}
