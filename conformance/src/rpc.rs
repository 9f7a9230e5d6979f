//! Rpc-mode helpers for cases: requests built and replies read with
//! `plug::protocol`, the one definition of ids, envelopes and error codes.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use plug::protocol::{codes, parse_request, EnvelopeStyle, ErrorObject, Id, ReplyBody};
use plug::Frame;
use serde_json::Value;

use crate::case::{fail, Ctx, Step, Verdict};
use crate::conn::Conn;
use crate::trace::show_bytes;

/// A DEALER (or REQ) connection speaking rpc mode with one envelope
/// style.
pub(crate) struct RpcConn {
    pub conn: Conn,
    style: Cell<EnvelopeStyle>,
}

/// A reply as the harness reads it.
pub(crate) struct Reply {
    /// The id exactly as it came back: `None` when the reply has no `id`.
    pub id: Option<Id>,
    pub body: ReplyBody,
    /// The body's text, for failure messages.
    pub text: String,
}

impl Reply {
    /// The error object, when the reply is a well-formed error.
    pub fn error(&self) -> Option<ErrorObject> {
        match self.body.outcome() {
            Ok(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// The result, when the reply is a well-formed success.
    pub fn result(&self) -> Option<&Value> {
        match self.body.outcome() {
            Ok(Ok(v)) => Some(v),
            _ => None,
        }
    }

    /// Whether this is the -32601 answer to an optional method.
    pub fn is_method_not_found(&self) -> bool {
        self.error()
            .is_some_and(|e| e.code == codes::METHOD_NOT_FOUND)
    }

    pub fn id_text(&self) -> String {
        self.id
            .as_ref()
            .map_or("(no id)".to_owned(), |i| i.json().to_owned())
    }

    /// The reply cut for a failure message.
    pub fn short(&self) -> String {
        show_bytes(self.text.as_bytes(), 200)
    }
}

impl RpcConn {
    /// A DEALER sending `style` envelopes.
    pub fn dealer(ctx: &Ctx, name: &'static str, style: EnvelopeStyle) -> Step<RpcConn> {
        Ok(RpcConn {
            conn: Conn::open(ctx, zmq::DEALER, name)?,
            style: Cell::new(style),
        })
    }

    /// Changes the envelope of later sends and receives.
    pub fn set_style(&self, style: EnvelopeStyle) {
        self.style.set(style);
    }

    /// A bare DEALER, as the plug in this kit uses by default.
    pub fn bare(ctx: &Ctx, name: &'static str) -> Step<RpcConn> {
        RpcConn::dealer(ctx, name, EnvelopeStyle::Bare)
    }

    /// A REQ socket: libzmq adds and strips the delimiter itself.
    pub fn req(ctx: &Ctx, name: &'static str) -> Step<RpcConn> {
        Ok(RpcConn {
            conn: Conn::open(ctx, zmq::REQ, name)?,
            style: Cell::new(EnvelopeStyle::Bare),
        })
    }

    /// Sends one request body in this connection's envelope.
    pub fn send(&self, body: &[u8]) -> Step<()> {
        let frames = self.style.get().wrap(vec![Frame::from(body)]);
        self.conn.send(&frames)
    }

    /// Sends a multipart body in this connection's envelope.
    pub fn send_frames(&self, body: Vec<Vec<u8>>) -> Step<()> {
        let frames = self
            .style
            .get()
            .wrap(body.into_iter().map(Frame::from).collect());
        self.conn.send(&frames)
    }

    /// Receives one reply; `None` when nothing arrives in time. A message
    /// that is not a reply (§5.3) fails the case.
    pub fn recv_reply_within(&self, wait: std::time::Duration) -> Step<Option<Reply>> {
        let Some(frames) = self.conn.recv_within(wait)? else {
            return Ok(None);
        };
        read_reply(self.style.get(), frames).map(Some)
    }

    /// Receives one reply within the reply timeout.
    pub fn recv_reply(&self, expected: &str) -> Step<Reply> {
        match self.recv_reply_within(self.conn.timeout())? {
            Some(r) => Ok(r),
            None => Err(self.conn.silence(expected)),
        }
    }

    /// Sends `body` and receives a reply that must carry the request's id.
    pub fn call(&self, body: &[u8]) -> Step<Reply> {
        let want = expected_id(body);
        let expected = format!("a reply with id {}", show_id(want.as_ref()));
        self.send(body)?;
        let reply = self.recv_reply(&expected)?;
        check_id(&reply, want.as_ref())?;
        Ok(reply)
    }
}

/// Splits and parses a received message as a reply in `style` (§3.3, §5.3).
pub(crate) fn read_reply(style: EnvelopeStyle, frames: Vec<Vec<u8>>) -> Step<Reply> {
    let shown = crate::trace::show_frames(&frames);
    let n = frames.len();
    let Ok(body) = style.unwrap(frames.into_iter().map(Frame::from).collect()) else {
        return Err(fail(
            "a reply starting with the empty delimiter frame the request had (§3.3)",
            format!("{n} frame(s) without a leading delimiter: {shown}"),
        ));
    };
    let [frame] = &body[..] else {
        return Err(fail(
            format!("a reply body of exactly one frame ({style} envelope, §3.3, §5.3)"),
            format!("{} body frames: {shown}", body.len()),
        ));
    };
    let parsed = ReplyBody::parse(frame).map_err(|e| {
        fail(
            "a reply body holding a JSON object (§5.3)",
            format!("{e}: {shown}"),
        )
    })?;
    let id = match parse_request(std::slice::from_ref(frame)) {
        Ok(r) => r.id,
        Err(e) => {
            return Err(fail(
                "a reply whose id is a number, a string or null (§5.2)",
                format!("{}: {shown}", e.message),
            ))
        }
    };
    Ok(Reply {
        id,
        body: parsed,
        text: String::from_utf8_lossy(frame).into_owned(),
    })
}

/// The id of a request body as a server must copy it (`None`: no id).
pub(crate) fn expected_id(body: &[u8]) -> Option<Id> {
    parse_request(&[Frame::from(body)]).ok().and_then(|r| r.id)
}

pub(crate) fn show_id(id: Option<&Id>) -> String {
    let Some(id) = id else {
        return "(none)".to_owned();
    };
    let text = id.json();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// Fails unless the reply's id is `want`, same JSON type and value (§5.2).
pub(crate) fn check_id(reply: &Reply, want: Option<&Id>) -> Step<()> {
    if reply.id.as_ref() == want {
        return Ok(());
    }
    Err(fail(
        format!(
            "the reply's id is {} exactly: same JSON type and value (§5.2)",
            show_id(want)
        ),
        format!(
            "id {} in reply {}",
            show_id(reply.id.as_ref()),
            reply.short()
        ),
    ))
}

/// Fails unless the reply is an error with `code` (§5.5).
pub(crate) fn check_error_code(reply: &Reply, code: i64, why: &str) -> Step<()> {
    match reply.body.outcome() {
        Ok(Err(e)) if e.code == code => Ok(()),
        Ok(Err(e)) => Err(fail(
            format!("error code {code} ({why})"),
            format!("error code {}: {}", e.code, reply.short()),
        )),
        Ok(Ok(_)) => Err(fail(
            format!("error code {code} ({why})"),
            format!("a success reply: {}", reply.short()),
        )),
        Err(e) => Err(fail(
            format!("an error reply with code {code} ({why})"),
            format!("{e}: {}", reply.short()),
        )),
    }
}

/// `{"id":<id>,"method":<method>[,"params":<params>]}` with the id's JSON
/// text as given (any id the protocol allows, not only the plug's counter).
pub(crate) fn request(id_json: &str, method: &str, params: Option<&Value>) -> Vec<u8> {
    let method = Value::from(method);
    match params {
        Some(p) => format!(r#"{{"id":{id_json},"method":{method},"params":{p}}}"#),
        None => format!(r#"{{"id":{id_json},"method":{method}}}"#),
    }
    .into_bytes()
}

/// A request with an integer id, as the plug's counter sends it.
pub(crate) fn counter_request(id: u64, method: &str, params: Option<Value>) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    obj.insert("method".into(), method.into());
    if let Some(p) = params {
        obj.insert("params".into(), p);
    }
    plug::protocol::encode_request(obj, Some(id))
}

/// Checks that the server still answers a new peer (§8.1): any reply with
/// the probe's id proves it, whether `ping` exists or not.
pub(crate) fn liveness(ctx: &Ctx, after: &str) -> Step<()> {
    static N: AtomicU64 = AtomicU64::new(1);
    let conn = RpcConn::bare(ctx, "live")?;
    let id = format!("\"liveness-{}\"", N.fetch_add(1, Ordering::Relaxed));
    let expected = format!("the server still answers a new peer after {after} (§8.1)");
    conn.send(&request(&id, "ping", None))
        .map_err(|v| relabel(v, &expected))?;
    let reply = conn.recv_reply(&expected)?;
    check_id(&reply, expected_id(&request(&id, "ping", None)).as_ref())
}

fn relabel(v: Verdict, expected: &str) -> Verdict {
    match v {
        Verdict::Fail { actual, .. } => fail(expected, actual),
        other => other,
    }
}

/// Calls an optional method (§6): `Err(Unimplemented)` when the server
/// answers -32601.
pub(crate) fn call_optional(conn: &RpcConn, body: &[u8], method: &str) -> Step<Reply> {
    let reply = conn.call(body)?;
    if reply.is_method_not_found() {
        return Err(Verdict::Unimplemented {
            method: method.to_owned(),
        });
    }
    Ok(reply)
}
