//! The commands.

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Duration;

use plug::{Error, Frame, Messages, RawPlug, RpcPlug};
use serde_json::Value;

use crate::args::{Command, TargetArgs};
use crate::render;
use crate::target::{plug_config, split_positionals};

pub const EXIT_REMOTE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_TRANSPORT: u8 = 3;
pub const EXIT_PROTOCOL: u8 = 4;

/// Why the command failed: a one-line reason and an exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub reason: String,
}

impl Failure {
    pub fn new(code: u8, reason: impl Display) -> Failure {
        Failure {
            code,
            reason: reason.to_string(),
        }
    }

    pub fn usage(reason: impl Display) -> Failure {
        Failure::new(EXIT_USAGE, reason)
    }

    fn from_plug(e: Error, endpoints: &[String]) -> Failure {
        let code = match &e {
            Error::Remote { .. } => EXIT_REMOTE,
            Error::Protocol { .. } => EXIT_PROTOCOL,
            Error::Config(_) | Error::InvalidRequest(_) | Error::CurveUnavailable(_) => EXIT_USAGE,
            // A timeout, a transport failure, a busy or closed plug; an
            // error kind added to the library later lands here too.
            _ => EXIT_TRANSPORT,
        };
        let hint = if e.is_timeout() {
            format!(" (is a server running at {}?)", endpoints.join(", "))
        } else {
            String::new()
        };
        Failure::new(code, format!("{e}{hint}"))
    }
}

pub async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Request {
            args,
            target,
            compact,
        } => request(args, target, compact).await,
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
        } => listen(endpoint, target, send, request, count, hex).await,
        Command::New {
            lang,
            dir,
            list,
            force,
            plug_path,
        } => {
            match (list, lang, dir) {
                (false, Some(lang), Some(dir)) => {
                    print!("{}", crate::new::create(&lang, &dir, force, plug_path)?)
                }
                _ => print!("{}", crate::new::list()),
            }
            Ok(())
        }
        Command::Keygen { out, force } => {
            print!("{}", crate::keygen::keygen(out, force)?);
            Ok(())
        }
    }
}

fn parse_json(text: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Failure::usage(format!("the request is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Failure::usage(
            "the request must be a JSON object, e.g. '{\"method\":\"ping\"}'",
        ));
    }
    Ok(value)
}

fn print_json(v: &Value, compact: bool) {
    let text = if compact {
        serde_json::to_string(v)
    } else {
        serde_json::to_string_pretty(v)
    };
    println!("{}", text.expect("a JSON value prints"));
}

fn open_rpc(
    target: &TargetArgs,
    endpoint: Option<String>,
) -> Result<(RpcPlug, Vec<String>), Failure> {
    let config = plug_config(target, endpoint, true)?;
    let endpoints = config.connect_to.clone();
    let plug = RpcPlug::open(config).map_err(|e| Failure::from_plug(e, &endpoints))?;
    Ok((plug, endpoints))
}

fn open_raw(
    target: &TargetArgs,
    endpoint: Option<String>,
) -> Result<(RawPlug, Vec<String>, Duration), Failure> {
    let config = plug_config(target, endpoint, false)?;
    let endpoints = config.connect_to.clone();
    let timeout = config.timeout;
    let plug = RawPlug::open(config).map_err(|e| Failure::from_plug(e, &endpoints))?;
    Ok((plug, endpoints, timeout))
}

async fn request(args: Vec<String>, target: TargetArgs, compact: bool) -> Result<(), Failure> {
    let (endpoint, json) = split_positionals(&target, args, "JSON", true)?;
    let body = parse_json(&json.unwrap_or_default())?;
    let (plug, endpoints) = open_rpc(&target, endpoint)?;
    match plug.request(body).await {
        Ok(reply) => {
            print_json(&reply.into_value(), compact);
            Ok(())
        }
        Err(Error::Remote { error, reply }) => {
            print_json(&reply.as_ref().clone().into_value(), compact);
            Err(Failure::new(
                EXIT_REMOTE,
                format!(
                    "the server answered with error {}: {}",
                    error.code, error.message
                ),
            ))
        }
        Err(e) => Err(Failure::from_plug(e, &endpoints)),
    }
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
        frames.push(Frame::from(data));
    }
    for path in &files {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
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
        Ok(Some(m)) => {
            print!("{}", render::frames(m.frames(), hex));
            Ok(())
        }
        Ok(None) => Err(Failure::new(
            EXIT_TRANSPORT,
            "the plug closed before a reply came",
        )),
        Err(_) => Err(Failure::new(
            EXIT_TRANSPORT,
            format!(
                "no message back within {} ms (is a server running at {}?)",
                timeout.as_millis(),
                endpoints.join(", ")
            ),
        )),
    }
}

async fn listen(
    endpoint: Option<String>,
    target: TargetArgs,
    hello: Option<String>,
    request: Option<String>,
    count: Option<u64>,
    hex: bool,
) -> Result<(), Failure> {
    if endpoint.is_none() && target.plug.is_none() {
        return Err(Failure::usage(
            "give an ENDPOINT or --config FILE --plug NAME",
        ));
    }
    // Keep the plug alive while listening.
    let (inbox, _keep): (Messages, Box<dyn std::any::Any>) = if let Some(json) = request {
        let body = parse_json(&json)?;
        let (plug, endpoints) = open_rpc(&target, endpoint)?;
        let inbox = plug.messages().expect("a new plug has its inbox");
        let reply = plug
            .request(body)
            .await
            .map_err(|e| Failure::from_plug(e, &endpoints))?;
        print_json(&reply.into_value(), true);
        (inbox, Box::new(plug))
    } else {
        let (plug, endpoints, _) = open_raw(&target, endpoint)?;
        let inbox = plug.messages().expect("a new plug has its inbox");
        if let Some(data) = hello {
            plug.send(data)
                .await
                .map_err(|e| Failure::from_plug(e, &endpoints))?;
        }
        (inbox, Box::new(plug))
    };
    let mut inbox = inbox;
    let mut seen = 0u64;
    loop {
        if count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
        tokio::select! {
            m = inbox.recv() => match m {
                Some(m) => {
                    seen += 1;
                    println!("message {seen} ({} frame{})", m.frames().len(), if m.frames().len() == 1 { "" } else { "s" });
                    print!("{}", render::frames(m.frames(), hex));
                }
                None => return Err(Failure::new(EXIT_TRANSPORT, "the plug closed")),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
