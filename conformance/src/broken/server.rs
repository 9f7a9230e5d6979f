//! The server loop: one blocking ROUTER with `ZMQ_ROUTER_MANDATORY`, a
//! backlog per peer so a slow peer never holds up the others (§2.4, §2.5),
//! and a timer list for `sleep` (§6.3).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plug::protocol::{
    codes, encode_error, encode_result, parse_request, ErrorObject, Id, Request, Routed,
};
use plug::Frame;
use serde_json::{json, Value};

use super::Break;
use crate::case::Profile;

/// The rpc-mode size limit (§8.1).
const MAX_RPC_BYTES: usize = 16 << 20;

type Message = Vec<Vec<u8>>;

struct Server<'a> {
    sock: &'a zmq::Socket,
    mode: Profile,
    rule: Break,
    stop: &'a AtomicBool,
    backlog: HashMap<Vec<u8>, VecDeque<Message>>,
    timers: Vec<(Instant, Message)>,
    received: u64,
    replies: u64,
    last_peer: Option<Vec<u8>>,
    /// Set by `dispatch` when the reply being built must wait (`sleep`).
    sleeping: Option<Instant>,
}

/// Serves on a bound ROUTER socket until `stop` is set.
pub fn serve(
    sock: &zmq::Socket,
    mode: Profile,
    rule: Break,
    stop: &AtomicBool,
) -> Result<(), zmq::Error> {
    sock.set_router_mandatory(true)?;
    let mut s = Server {
        sock,
        mode,
        rule,
        stop,
        backlog: HashMap::new(),
        timers: Vec::new(),
        received: 0,
        replies: 0,
        last_peer: None,
        sleeping: None,
    };
    while !stop.load(Ordering::Relaxed) {
        s.flush()?;
        s.fire_timers();
        let wait = if !s.backlog.is_empty() {
            2
        } else {
            s.timers
                .iter()
                .map(|(due, _)| due.saturating_duration_since(Instant::now()).as_millis() as i64)
                .min()
                .unwrap_or(100)
                .clamp(0, 100)
        };
        if sock.poll(zmq::POLLIN, wait)? == 0 {
            continue;
        }
        for _ in 0..256 {
            match sock.recv_multipart(zmq::DONTWAIT) {
                Ok(m) => s.handle(m),
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

impl Server<'_> {
    fn handle(&mut self, msg: Message) {
        self.received += 1;
        match self.rule {
            Break::HangAfter(n) if self.received > n => self.hang(),
            Break::CrashAfter(n) if self.received > n => std::process::exit(3),
            _ => {}
        }
        let routed = Routed::split(msg.into_iter().map(Frame::from).collect(), true);
        let reply_body = match self.mode {
            Profile::Raw => Some(self.raw(routed.body)),
            Profile::Rpc => self.rpc(&routed.body),
        };
        let Some(body) = reply_body else { return };
        let body: Vec<Frame> = body.into_iter().map(Frame::from).collect();
        let mut out: Message = if self.rule == Break::DropDelimiter {
            let ident = routed
                .envelope
                .identity()
                .cloned()
                .unwrap_or_else(Frame::empty);
            std::iter::once(ident)
                .chain(body)
                .map(|f| f.to_vec())
                .collect()
        } else {
            routed
                .envelope
                .into_reply(body)
                .into_iter()
                .map(|f| f.to_vec())
                .collect()
        };
        let peer = out[0].clone();
        if self.rule == Break::MixClients {
            if let Some(prev) = self.last_peer.replace(peer) {
                out[0] = prev;
            }
        }
        if let Some(due) = self.sleeping.take() {
            self.timers.push((due, out));
            return;
        }
        self.send(out);
    }

    fn hang(&self) -> ! {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if self.stop.load(Ordering::Relaxed) {
                // A hung server never answers again; it only lets its host
                // thread end so in-process tests can finish.
                std::thread::park();
            }
        }
    }

    fn raw(&self, mut body: Vec<Frame>) -> Message {
        match self.rule {
            Break::ReorderFrames => body.reverse(),
            Break::DropEmptyFrames => body.retain(|f| !f.is_empty()),
            Break::MangleBytes => {
                for f in &mut body {
                    let bytes: Vec<u8> = f
                        .iter()
                        .filter(|b| **b != 0)
                        .map(|b| if *b > 0x7f { b'?' } else { *b })
                        .collect();
                    *f = Frame::from(bytes);
                }
            }
            Break::TruncateBig => {
                for f in &mut body {
                    if f.len() > 512 << 10 {
                        *f = Frame::copy_from(&f[..f.len() / 2]);
                    }
                }
            }
            Break::Slow => std::thread::sleep(Duration::from_millis(2)),
            _ => {}
        }
        body.iter().map(|f| f.to_vec()).collect()
    }

    fn rpc(&mut self, body: &[Frame]) -> Option<Message> {
        let size: usize = body.iter().map(|f| f.len()).sum();
        if size > MAX_RPC_BYTES {
            return Some(vec![encode_error(
                None,
                false,
                &ErrorObject::too_large(size, MAX_RPC_BYTES),
            )]);
        }
        let garbage = body.len() == 1 && std::str::from_utf8(&body[0]).is_err();
        match self.rule {
            Break::CrashOnGarbage if garbage => std::process::exit(3),
            Break::HangOnGarbage if garbage => self.hang(),
            _ => {}
        }
        let req = match parse_request(body) {
            Ok(r) => r,
            Err(e) if e.code == codes::PARSE_ERROR && self.rule == Break::NoParseErrorReply => {
                return None
            }
            Err(e) => return Some(vec![encode_error(None, false, &e)]),
        };
        if req.is_notification() && self.rule != Break::ReplyToNotifications {
            return None;
        }
        let outcome = self.dispatch(&req)?;
        let id = self.reply_id(req.id.as_ref());
        let jsonrpc = req.is_jsonrpc();
        if self.rule == Break::Slow {
            std::thread::sleep(Duration::from_millis(2));
        }
        let bytes = match outcome {
            Ok(v) if self.rule == Break::ResultAndError => {
                let id: Value = id.as_ref().map_or(Value::Null, Id::to_value);
                serde_json::to_vec(
                    &json!({"id": id, "result": v, "error": {"code": 0, "message": "both"}}),
                )
                .expect("JSON")
            }
            Ok(v) => encode_result(id.as_ref(), jsonrpc, &v),
            Err(e) => encode_error(id.as_ref(), jsonrpc, &e),
        };
        Some(vec![bytes])
    }

    /// The result or error of a request; `None` while a `sleep` is pending
    /// (its reply is queued on a timer by `handle`).
    fn dispatch(&mut self, req: &Request) -> Option<Result<Value, ErrorObject>> {
        let method = match req.method() {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        Some(match method {
            "ping" => Ok(json!("pong")),
            "echo" if self.rule == Break::MangleEcho => Ok(mangle(req.params())),
            "echo" => Ok(req.params().clone()),
            "sleep" => {
                let ms = match req.params().get("ms").and_then(Value::as_u64) {
                    Some(ms) if ms <= 60_000 && req.params().is_object() => ms,
                    _ => {
                        return Some(Err(ErrorObject::invalid_params(
                            "expected {\"ms\": 0..60000}",
                        )))
                    }
                };
                if self.rule == Break::BlockingSleep {
                    std::thread::sleep(Duration::from_millis(ms));
                } else {
                    self.sleeping = Some(Instant::now() + Duration::from_millis(ms));
                }
                Ok(json!({ "ms": ms }))
            }
            other => Err(ErrorObject::method_not_found(other)),
        })
    }

    fn reply_id(&self, id: Option<&Id>) -> Option<Id> {
        let id = id?;
        let text = id.json();
        let is_number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
        let changed = match self.rule {
            Break::IdAsString if is_number => Value::from(text).to_string(),
            Break::IdViaFloat if is_number => {
                let f: f64 = text.parse().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    (f as i64).to_string()
                } else {
                    Value::from(f).to_string()
                }
            }
            _ => return Some(id.clone()),
        };
        parse_request(&[Frame::from(format!(r#"{{"id":{changed}}}"#))])
            .ok()?
            .id
    }

    fn send(&mut self, out: Message) {
        self.replies += 1;
        if self.rule == Break::LoseReplies && self.replies.is_multiple_of(997) {
            return;
        }
        self.backlog
            .entry(out[0].clone())
            .or_default()
            .push_back(out);
        let _ = self.flush();
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.timers.drain(..).partition(|(t, _)| *t <= now);
        self.timers = later;
        for (_, m) in due {
            self.send(m);
        }
    }

    /// Sends what each peer can take now, in order per peer.
    fn flush(&mut self) -> Result<(), zmq::Error> {
        let sock = self.sock;
        self.backlog.retain(|_, queue| {
            while let Some(m) = queue.front() {
                match send_now(sock, m) {
                    Ok(()) | Err(zmq::Error::EHOSTUNREACH) => {
                        queue.pop_front();
                    }
                    Err(_) => return true,
                }
            }
            false
        });
        Ok(())
    }
}

fn send_now(sock: &zmq::Socket, m: &Message) -> Result<(), zmq::Error> {
    let last = m.len() - 1;
    for (i, f) in m.iter().enumerate() {
        let more = if i < last { zmq::SNDMORE } else { 0 };
        sock.send(&f[..], more | zmq::DONTWAIT)?;
    }
    Ok(())
}

fn mangle(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::from(
            s.chars()
                .map(|c| if c.is_ascii() { c } else { '?' })
                .collect::<String>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mangle).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), mangle(v))).collect()),
        other => other.clone(),
    }
}
