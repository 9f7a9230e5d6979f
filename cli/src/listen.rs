//! `plug listen`: print what a server sends to this plug, as text or as
//! one JSON object per line.

use std::time::Duration;

use plug::{Frame, Message, MessageKind, Messages};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::args::TargetArgs;
use crate::body;
use crate::commands::{open_raw, open_rpc, parse_json, print_json};
use crate::failure::{Failure, EXIT_TRANSPORT};
use crate::output;
use crate::render;
use crate::request::call;
use crate::target::parse_endpoint;

pub struct Options {
    /// Raw text to send first.
    pub hello: Option<String>,
    /// A JSON request to send first; its reply is the first message.
    pub request: Option<String>,
    /// Stop after this many messages.
    pub count: Option<u64>,
    pub hex: bool,
    pub json: bool,
}

pub async fn listen(
    endpoint: Option<String>,
    target: TargetArgs,
    options: Options,
) -> Result<(), Failure> {
    if endpoint.is_none() && target.plug.is_none() {
        return Err(Failure::usage(
            "give an ENDPOINT or --config FILE --plug NAME",
        ));
    }
    let endpoint = endpoint.as_deref().map(parse_endpoint).transpose()?;
    let listening = target.timeout.map(Duration::from_millis);
    let deadline = listening.map(|t| Instant::now() + t);
    let mut printer = Printer {
        seen: 0,
        options: &options,
    };
    // The plug stays open (and so connected) while listening.
    let mut waiting = Vec::new();
    let (mut inbox, _plug): (Messages, Box<dyn std::any::Any>) = match &options.request {
        Some(json) => {
            let body = parse_json(&body::read_text(json, "request")?)?;
            let (plug, endpoints) = open_rpc(&target, endpoint)?;
            let mut inbox = plug.messages().expect("a new plug has its inbox");
            let reply = call(&plug, &mut inbox, body, &mut waiting)
                .await?
                .map_err(|e| Failure::from_plug(e, &endpoints))?;
            printer.reply(reply.into_value())?;
            (inbox, Box::new(plug))
        }
        None => {
            let (plug, endpoints, _) = open_raw(&target, endpoint)?;
            let inbox = plug.messages().expect("a new plug has its inbox");
            if let Some(data) = &options.hello {
                plug.send(body::read(data)?)
                    .await
                    .map_err(|e| Failure::from_plug(e, &endpoints))?;
            }
            (inbox, Box::new(plug))
        }
    };
    for m in waiting {
        if printer.done() {
            return Ok(());
        }
        printer.message(&m)?;
    }
    loop {
        if printer.done() {
            return Ok(());
        }
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, inbox.recv()).await.ok(),
                None => Some(inbox.recv().await),
            }
        };
        tokio::select! {
            m = next => match m {
                Some(Some(m)) => printer.message(&m)?,
                Some(None) => return Err(Failure::new(EXIT_TRANSPORT, "the plug closed")),
                None => return printer.time_up(listening.unwrap_or_default()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

struct Printer<'a> {
    seen: u64,
    options: &'a Options,
}

impl Printer<'_> {
    /// Enough messages, or nobody reads them any more.
    fn done(&self) -> bool {
        self.options.count.is_some_and(|n| self.seen >= n) || output::closed()
    }

    fn reply(&mut self, reply: Value) -> Result<(), Failure> {
        self.seen += 1;
        if self.options.json {
            let line = json!({"message": self.seen, "kind": "reply", "json": reply});
            return output::println(&line.to_string());
        }
        print_json(&reply, true)
    }

    fn message(&mut self, m: &Message) -> Result<(), Failure> {
        self.seen += 1;
        if !self.options.json {
            let n = m.frames().len();
            let plural = if n == 1 { "" } else { "s" };
            output::println(&format!("message {} ({n} frame{plural})", self.seen))?;
            return output::print(&render::frames(m.frames(), self.options.hex));
        }
        let kind = match m.kind() {
            MessageKind::Raw => "raw",
            MessageKind::Push => "push",
            MessageKind::UnknownId(_) => "unknown_id",
            _ => "invalid",
        };
        let frames: Vec<Value> = m.frames().iter().map(|f| self.frame(f)).collect();
        let mut line = json!({"message": self.seen, "kind": kind, "frames": frames});
        if let [frame] = m.frames() {
            if let Ok(body) = serde_json::from_slice::<Value>(frame) {
                line["json"] = body;
            }
        }
        output::println(&line.to_string())
    }

    /// A frame as JSON: its text, or `{"hex": ...}`.
    fn frame(&self, f: &Frame) -> Value {
        match std::str::from_utf8(f) {
            Ok(text) if !self.options.hex => Value::from(text),
            _ => json!({ "hex": render::to_hex(f) }),
        }
    }

    /// `--timeout` ran out: fine, unless `--count` asked for more.
    fn time_up(&self, listened: Duration) -> Result<(), Failure> {
        match self.options.count {
            Some(n) if self.seen < n => Err(Failure::new(
                EXIT_TRANSPORT,
                format!(
                    "{} of {n} messages within {} ms",
                    self.seen,
                    listened.as_millis()
                ),
            )),
            _ => Ok(()),
        }
    }
}
