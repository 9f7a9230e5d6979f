//! rpc connections as the judge sees them. Requests are the exact bytes a
//! case wrote, and what must come back is derived from those bytes (the id's
//! literal text), never from code the judged servers share.
//!
//! Every message that arrives is judged in full (§3.3, §5.3): its envelope,
//! a JSON object, an id of a valid type, exactly one of `result` and a
//! well-formed `error`. A message without `id` (and without `result` and
//! `error`) is a server push (§7.1), noted and never taken for a reply. A
//! reply must answer a request of this connection that is still waiting: a
//! second reply or an unknown id fails the case at once. `finish` sends one
//! last request and checks that nothing unexpected arrived before its reply.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::case::{fail, Ctx, Notes, Step, Verdict};
use crate::conn::{Conn, Options};
use crate::hints;
use crate::json::{self, IdValue, NotObject};
use crate::trace::show_bytes;

/// §8.1-b: rpc requests up to this size never get -32001.
pub(crate) const SIZE_FLOOR: usize = 64 * 1024;
/// §8.2-a: with this many requests unanswered or fewer, never -32002.
pub(crate) const IN_FLIGHT_FLOOR: usize = 16;

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
pub(crate) const TOO_LARGE: i64 = -32001;
pub(crate) const OVERLOADED: i64 = -32002;
/// §5.5-l: only from a server that is draining, and no case drains one.
pub(crate) const SHUTTING_DOWN: i64 = -32003;

/// The envelope of a request (§3.1, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Bare,
    Delimited,
}

/// What a request must get back.
#[derive(Clone, Debug)]
pub(crate) enum Expect {
    /// A reply with this id (its JSON text as sent).
    Id(String),
    /// A reply with `"id": null`: an error for a request whose id cannot be
    /// read.
    Null,
    /// The id, or `null` (-32700 for an id some libraries cannot read).
    IdOrNull(String),
    /// `"id": null`, or nothing at all (§5.4-c).
    MaybeNull,
    /// Nothing: a notification (§5.4-a).
    Nothing,
}

/// A request as a case wrote it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    /// The body frames, exactly as sent (one frame but for §5.5-d cases).
    pub frames: Vec<Vec<u8>>,
    pub expect: Expect,
    /// The request carries `"jsonrpc": "2.0"` (§5.3-c).
    pub jsonrpc: bool,
}

impl Request {
    /// `{"id":ID,"method":"METHOD"}` with the id's JSON text as given.
    pub fn call(id: &str, method: &str) -> Request {
        Request {
            frames: vec![format!(r#"{{"id":{id},"method":"{method}"}}"#).into_bytes()],
            expect: Expect::Id(id.to_owned()),
            jsonrpc: false,
        }
    }

    /// `{"id":ID,"method":"METHOD","params":PARAMS}`.
    pub fn with_params(id: &str, method: &str, params: &str) -> Request {
        Request {
            frames: vec![
                format!(r#"{{"id":{id},"method":"{method}","params":{params}}}"#).into_bytes(),
            ],
            expect: Expect::Id(id.to_owned()),
            jsonrpc: false,
        }
    }

    /// A whole body whose reply must carry `id` (its JSON text).
    pub fn text(body: impl Into<Vec<u8>>, id: &str) -> Request {
        let body = body.into();
        Request {
            jsonrpc: has_jsonrpc(&body),
            frames: vec![body],
            expect: Expect::Id(id.to_owned()),
        }
    }

    /// A body whose reply is an error with `"id": null` (§5.5).
    pub fn null_id(body: impl Into<Vec<u8>>) -> Request {
        Request {
            frames: vec![body.into()],
            expect: Expect::Null,
            jsonrpc: false,
        }
    }

    /// A body of several frames, answered with `"id": null` (§5.5-d).
    pub fn frames(frames: Vec<Vec<u8>>) -> Request {
        Request {
            frames,
            expect: Expect::Null,
            jsonrpc: false,
        }
    }

    /// A notification: no reply (§5.4-a).
    pub fn notification(body: impl Into<Vec<u8>>) -> Request {
        Request {
            frames: vec![body.into()],
            expect: Expect::Nothing,
            jsonrpc: false,
        }
    }

    /// Changes what must come back.
    pub fn expecting(mut self, expect: Expect) -> Request {
        self.expect = expect;
        self
    }

    fn size(&self) -> usize {
        self.frames.iter().map(Vec::len).sum()
    }
}

fn has_jsonrpc(body: &[u8]) -> bool {
    if !body.windows(9).any(|w| w == b"\"jsonrpc\"") {
        return false;
    }
    json::object(body)
        .ok()
        .and_then(|m| m.get("jsonrpc").map(|v| v == "\"2.0\""))
        .unwrap_or(false)
}

/// A well-formed error object (§5.3-a).
#[derive(Clone, Debug)]
pub(crate) struct ErrorObj {
    pub code: i64,
}

/// A reply that passed the judge.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub id: IdValue,
    /// The id's JSON text as it came back.
    pub id_text: String,
    /// The `result` member's JSON text.
    pub result: Option<String>,
    pub error: Option<ErrorObj>,
    /// The `jsonrpc` member's JSON text.
    pub jsonrpc: Option<String>,
    /// The body, for messages.
    pub text: String,
    /// Set when this is a -32001 or -32002 the spec allows here.
    pub limited: bool,
}

impl Reply {
    pub fn code(&self) -> Option<i64> {
        self.error.as_ref().map(|e| e.code)
    }

    /// The -32601 answer to an optional method (§6).
    pub fn is_method_not_found(&self) -> bool {
        self.code() == Some(METHOD_NOT_FOUND)
    }

    /// The result parsed, when it is one serde_json can hold.
    pub fn result_value(&self) -> Option<serde_json::Value> {
        self.result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
    }

    /// The reply cut for a failure message.
    pub fn short(&self) -> String {
        show_bytes(self.text.as_bytes(), 200)
    }
}

/// A handle on a request sent, to wait for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ticket(usize);

struct Pending {
    ticket: Ticket,
    expect: Expect,
    want: Option<IdValue>,
    /// The id's text as sent: a reply with the same text matches at once.
    want_text: Option<String>,
    style: Style,
    jsonrpc: bool,
    size: usize,
    /// Requests of this connection unanswered when it was sent, itself
    /// included.
    in_flight: usize,
    /// The body's first bytes, to recognise an echo of the request.
    head: Vec<u8>,
    sync: bool,
}

/// What one received message is.
enum Judged {
    Push,
    Reply(Reply, Style),
}

/// A DEALER (or REQ) connection speaking rpc mode.
pub(crate) struct RpcConn {
    pub conn: Conn,
    style: Cell<Style>,
    req: bool,
    notes: Notes,
    left_behind: std::sync::Arc<AtomicU64>,
    pending: RefCell<Vec<Pending>>,
    arrived: RefCell<HashMap<Ticket, Reply>>,
    answered: RefCell<Vec<IdValue>>,
    ignored: RefCell<Vec<IdValue>>,
    next: Cell<usize>,
    pushes: Cell<u64>,
    finished: Cell<bool>,
}

static SENTINELS: AtomicU64 = AtomicU64::new(1);

impl RpcConn {
    /// A DEALER sending `style` envelopes.
    pub fn dealer(ctx: &Ctx, name: &'static str, style: Style) -> Step<RpcConn> {
        RpcConn::open(ctx, name, zmq::DEALER, style, &Options::default())
    }

    /// A bare DEALER, as the plug in this kit uses by default.
    pub fn bare(ctx: &Ctx, name: &'static str) -> Step<RpcConn> {
        RpcConn::dealer(ctx, name, Style::Bare)
    }

    /// A REQ socket: libzmq adds and strips the delimiter itself.
    pub fn req(ctx: &Ctx, name: &'static str) -> Step<RpcConn> {
        RpcConn::open(ctx, name, zmq::REQ, Style::Delimited, &Options::default())
    }

    /// A DEALER with socket options (a routing id of its own, small buffers).
    pub fn open(
        ctx: &Ctx,
        name: &'static str,
        kind: zmq::SocketType,
        style: Style,
        options: &Options,
    ) -> Step<RpcConn> {
        let conn = Conn::open_with(ctx, kind, name, ctx.curve.as_ref(), options)?;
        let c = RpcConn {
            conn,
            style: Cell::new(style),
            req: kind == zmq::REQ,
            notes: ctx.notes.clone(),
            left_behind: ctx.left_behind.clone(),
            pending: RefCell::new(Vec::new()),
            arrived: RefCell::new(HashMap::new()),
            answered: RefCell::new(Vec::new()),
            ignored: RefCell::new(Vec::new()),
            next: Cell::new(0),
            pushes: Cell::new(0),
            finished: Cell::new(false),
        };
        if ctx.one_peer_only() && !c.req {
            c.sync()?;
        }
        Ok(c)
    }

    /// Changes the envelope of later requests.
    pub fn set_style(&self, style: Style) {
        self.style.set(style);
    }

    /// Requests sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Sends a request in this connection's envelope.
    pub fn send(&self, req: &Request) -> Step<Ticket> {
        let style = if self.req {
            Style::Delimited
        } else {
            self.style.get()
        };
        let mut frames: Vec<&[u8]> = Vec::with_capacity(req.frames.len() + 1);
        if style == Style::Delimited && !self.req {
            frames.push(b"");
        }
        frames.extend(req.frames.iter().map(Vec::as_slice));
        self.conn.send(&frames)?;
        Ok(self.register(req, style, false))
    }

    /// Sends without waiting for room: `None` when the socket's queue is
    /// full (the server is not reading).
    pub fn try_send(&self, req: &Request) -> Step<Option<Ticket>> {
        let style = self.style.get();
        let mut frames: Vec<&[u8]> = Vec::with_capacity(req.frames.len() + 1);
        if style == Style::Delimited && !self.req {
            frames.push(b"");
        }
        frames.extend(req.frames.iter().map(Vec::as_slice));
        if !self.conn.try_send(&frames)? {
            return Ok(None);
        }
        Ok(Some(self.register(req, style, false)))
    }

    fn register(&self, req: &Request, style: Style, sync: bool) -> Ticket {
        let ticket = Ticket(self.next.get());
        self.next.set(ticket.0 + 1);
        let want = match &req.expect {
            Expect::Id(t) | Expect::IdOrNull(t) => Some(IdValue::parse(t)),
            Expect::Null | Expect::MaybeNull => Some(IdValue::Null),
            Expect::Nothing => None,
        };
        let want_text = match &req.expect {
            Expect::Id(t) | Expect::IdOrNull(t) => Some(t.trim().to_owned()),
            _ => None,
        };
        if matches!(req.expect, Expect::Nothing) {
            return ticket;
        }
        let mut pending = self.pending.borrow_mut();
        let in_flight = pending.len() + 1;
        let head = req
            .frames
            .first()
            .map(|f| f[..f.len().min(4096)].to_vec())
            .unwrap_or_default();
        pending.push(Pending {
            ticket,
            expect: req.expect.clone(),
            want,
            want_text,
            style,
            jsonrpc: req.jsonrpc,
            size: req.size(),
            in_flight,
            head,
            sync,
        });
        ticket
    }

    /// Sends `req` and waits for its reply.
    pub fn call(&self, req: &Request) -> Step<Reply> {
        let t = self.send(req)?;
        self.wait(t)
    }

    /// Waits for the reply to `ticket` within the reply timeout, judging
    /// everything that arrives meanwhile.
    pub fn wait(&self, ticket: Ticket) -> Step<Reply> {
        self.wait_within(ticket, self.conn.timeout())
    }

    /// Like [`RpcConn::wait`] with a wait of `limit`.
    pub fn wait_within(&self, ticket: Ticket, limit: Duration) -> Step<Reply> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(r) = self.arrived.borrow_mut().remove(&ticket) {
                return Ok(r);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.conn.recv_within(left)? {
                Some(frames) => self.process(frames)?,
                None => return Err(self.silence(ticket, limit)),
            }
        }
    }

    /// The reply to `ticket` if it has come (judging what is waiting).
    pub fn poll(&self, ticket: Ticket) -> Step<Option<Reply>> {
        while let Some(frames) = self.conn.recv_within(Duration::ZERO)? {
            self.process(frames)?;
        }
        Ok(self.arrived.borrow_mut().remove(&ticket))
    }

    /// The next reply to any request of this connection, within `limit`;
    /// `None` on silence.
    pub fn next_reply(&self, limit: Duration) -> Step<Option<(Ticket, Reply)>> {
        let deadline = Instant::now() + limit;
        loop {
            let first = self.arrived.borrow().keys().min_by_key(|t| t.0).copied();
            if let Some(t) = first {
                let r = self.arrived.borrow_mut().remove(&t).expect("present");
                return Ok(Some((t, r)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.conn.recv_within(left)? {
                Some(frames) => self.process(frames)?,
                None => return Ok(None),
            }
        }
    }

    /// Receives and judges for `wait`, expecting no reply (pushes are fine).
    pub fn quiet(&self, wait: Duration) -> Step<()> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            if let Some(frames) = self.conn.recv_within(left)? {
                self.process(frames)?;
            }
        }
    }

    /// The next message as it came, unjudged (for the SHOULD-level id cases
    /// that grade a changed id themselves). Pushes are skipped.
    pub fn next_raw_reply(&self, limit: Duration) -> Step<Option<(json::Members, Style)>> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(frames) = self.conn.recv_within(left)? else {
                return Ok(None);
            };
            let (style, body) = self.split(&frames)?;
            let members = json::object(&body).map_err(|e| invalid(&frames, &e))?;
            if members.get("id").is_none() {
                if members.get("result").is_some() || members.get("error").is_some() {
                    return Err(
                        fail("a reply with the request's id (§5.3-a)", shown(&frames))
                            .hint(hints::NO_ID),
                    );
                }
                self.pushes.set(self.pushes.get() + 1);
                continue;
            }
            // Whatever it says, it answers the one request waiting.
            self.pending.borrow_mut().clear();
            self.answered
                .borrow_mut()
                .push(IdValue::parse(members.get("id").unwrap_or("null")));
            return Ok(Some((members, style)));
        }
    }

    /// Ends the connection: one more request, and nothing unexpected before
    /// its reply (a second reply, an unknown id). Requests still unanswered
    /// are left to the server.
    pub fn finish(self) -> Step<()> {
        self.finished.set(true);
        if !(self.req && self.in_flight() > 0) {
            let n = SENTINELS.fetch_add(1, Ordering::Relaxed);
            let sentinel = Request::call(&format!("\"plug-conformance-sentinel-{n}\""), "ping");
            let t = self.send(&sentinel)?;
            self.wait(t)
                .map_err(|v| v.hint("the last request of a connection (a ping) got no reply"))?;
        }
        let left = self
            .pending
            .borrow()
            .iter()
            .filter(|p| !p.sync && !matches!(p.expect, Expect::MaybeNull))
            .count() as u64;
        self.left_behind.fetch_add(left, Ordering::Relaxed);
        if self.pushes.get() > 0 {
            self.notes.detail(format!(
                "server pushes (messages without id) seen and not taken for replies: {} (§7.1-a)",
                self.pushes.get()
            ));
        }
        Ok(())
    }

    /// Against a DEALER server, a new connection first waits until the
    /// server answers it: the server may still hold the previous
    /// connection, and its replies go round-robin until it lets it go.
    fn sync(&self) -> Step<()> {
        let deadline = Instant::now() + self.conn.timeout();
        let mut n = 0u32;
        loop {
            n += 1;
            let id = format!(
                "\"plug-conformance-sync-{}\"",
                SENTINELS.fetch_add(1, Ordering::Relaxed)
            );
            let req = Request::call(&id, "ping");
            let style = self.style.get();
            let mut frames: Vec<&[u8]> = Vec::new();
            if style == Style::Delimited {
                frames.push(b"");
            }
            frames.push(&req.frames[0]);
            self.conn.send(&frames)?;
            let t = self.register(&req, style, true);
            let left = deadline.saturating_duration_since(Instant::now());
            match self.wait_within(t, left.min(Duration::from_millis(200))) {
                Ok(_) => {
                    self.conn.note(format!(
                        "synchronised with the DEALER server after {n} ping(s)"
                    ));
                    return Ok(());
                }
                Err(v) if Instant::now() >= deadline => return Err(v),
                Err(_) => {
                    let mut pending = self.pending.borrow_mut();
                    pending.retain(|p| p.ticket != t);
                    self.ignored.borrow_mut().push(IdValue::parse(&id));
                }
            }
        }
    }

    /// Splits a message into envelope style and body (§3.3).
    fn split(&self, frames: &[Vec<u8>]) -> Step<(Style, Vec<u8>)> {
        if self.req {
            return match frames {
                [body] => Ok((Style::Delimited, body.clone())),
                _ => Err(fail(
                    "a reply body of exactly one frame (§5.3-a)",
                    format!("{} frames: {}", frames.len(), shown(frames)),
                )),
            };
        }
        match frames {
            [body] => Ok((Style::Bare, body.clone())),
            [d, body] if d.is_empty() => Ok((Style::Delimited, body.clone())),
            _ => Err(fail(
                "a reply of one body frame, after the delimiter when the request had one \
                 (§3.3-b, §5.3-a)",
                format!("{} frames: {}", frames.len(), shown(frames)),
            )
            .hint("reply with exactly the request's envelope frames followed by one body frame")),
        }
    }

    /// Judges a message received outside this connection's own waits.
    pub fn accept(&self, frames: Vec<Vec<u8>>) -> Step<()> {
        self.process(frames)
    }

    /// Judges one message and files it: a push is counted, a reply goes to
    /// the request it answers.
    fn process(&self, frames: Vec<Vec<u8>>) -> Step<()> {
        match self.judge(&frames)? {
            Judged::Push => {
                self.pushes.set(self.pushes.get() + 1);
                self.conn
                    .note("a server push (no id): not a reply (§7.1-a)");
                Ok(())
            }
            Judged::Reply(reply, style) => self.file(reply, style, &frames),
        }
    }

    fn judge(&self, frames: &[Vec<u8>]) -> Step<Judged> {
        let (style, body) = self.split(frames)?;
        let members = match json::object(&body) {
            Ok(m) => m,
            Err(e) => {
                let mut v = invalid(frames, &e);
                if self.is_echo(&body) {
                    v = v.hint(hints::RAW_ECHO);
                }
                return Err(v);
            }
        };
        for name in ["id", "result", "error"] {
            if members.count(name) > 1 {
                return Err(fail(
                    "a reply with one `id` and exactly one of `result` and `error` (§5.3-a)",
                    format!("`{name}` appears twice: {}", shown(frames)),
                ));
            }
        }
        let result = members.get("result").map(str::to_owned);
        let error = members.get("error").map(str::to_owned);
        let Some(id_raw) = members.get("id") else {
            if result.is_some() || error.is_some() {
                return Err(fail(
                    "a reply with the request's id (§5.3-a); a push has neither `result` nor \
                     `error` (§7.1-b)",
                    format!("a message without `id`: {}", shown(frames)),
                )
                .hint(hints::NO_ID));
            }
            return Ok(Judged::Push);
        };
        let id = IdValue::parse(id_raw);
        if let IdValue::Other(kind) = id {
            return Err(fail(
                "a reply whose id is a number, a string or null (§5.2-a)",
                format!("an id that is {kind}: {}", shown(frames)),
            ));
        }
        let error = match (&result, error) {
            (Some(_), Some(e)) => {
                return Err(fail(
                    "exactly one of `result` and `error` (§5.3-a)",
                    format!("both (error: {e}): {}", shown(frames)),
                )
                .hint(hints::BOTH))
            }
            (None, None) => {
                let v = fail(
                    "exactly one of `result` and `error` (§5.3-a)",
                    format!("neither: {}", shown(frames)),
                );
                return Err(if self.is_echo(&body) {
                    v.hint(hints::RAW_ECHO)
                } else {
                    v
                });
            }
            (Some(_), None) => None,
            (None, Some(e)) => Some(error_object(&e, frames)?),
        };
        Ok(Judged::Reply(
            Reply {
                id,
                id_text: id_raw.to_owned(),
                result,
                error,
                jsonrpc: members.get("jsonrpc").map(str::to_owned),
                text: String::from_utf8_lossy(&body).into_owned(),
                limited: false,
            },
            style,
        ))
    }

    fn is_echo(&self, body: &[u8]) -> bool {
        !body.is_empty()
            && self
                .pending
                .borrow()
                .iter()
                .any(|p| body.starts_with(&p.head) && !p.head.is_empty())
    }

    /// Matches a judged reply to the request it answers.
    fn file(&self, mut reply: Reply, style: Style, frames: &[Vec<u8>]) -> Step<()> {
        let mut pending = self.pending.borrow_mut();
        let code = reply.code();
        let same = |p: &Pending| {
            p.want_text.as_deref() == Some(reply.id_text.as_str())
                || p.want.as_ref().is_some_and(|w| reply.id.same_as(w))
        };
        let pick = |p: &Pending| -> u8 {
            match (&p.expect, &reply.id) {
                (Expect::Null | Expect::MaybeNull, IdValue::Null) => 1,
                (Expect::Id(_), _) if same(p) => 1,
                (Expect::IdOrNull(_), IdValue::Null) => 2,
                (Expect::IdOrNull(_), _) if same(p) => 1,
                (Expect::Id(_), IdValue::Null)
                    if code == Some(TOO_LARGE) && p.size > SIZE_FLOOR =>
                {
                    3
                }
                _ => 0,
            }
        };
        // Among equal candidates (two requests answered with "id": null),
        // the one sent in the reply's envelope.
        let best = (1..=3).find_map(|rank| {
            let same = |p: &Pending| pick(p) == rank;
            pending
                .iter()
                .position(|p| same(p) && (self.req || p.style == style))
                .or_else(|| pending.iter().position(same))
        });
        let Some(i) = best else {
            drop(pending);
            if self.ignored.borrow().iter().any(|i| reply.id.same_as(i)) {
                // A late answer to a synchronisation ping (§2.1-c).
                return Ok(());
            }
            return Err(self.unmatched(&reply, frames));
        };
        let p = pending.remove(i);
        drop(pending);
        self.answered.borrow_mut().push(reply.id.clone());
        if p.sync && !matches!(reply.id, IdValue::Null) {
            self.arrived.borrow_mut().insert(p.ticket, reply);
            return Ok(());
        }
        if !self.req && style != p.style {
            return Err(fail(
                format!(
                    "the reply in the request's envelope: {} (§3.3-b)",
                    match p.style {
                        Style::Bare => "no delimiter frame",
                        Style::Delimited => "the empty delimiter frame, then the body",
                    }
                ),
                shown(frames),
            )
            .hint(hints::delimiter(p.style == Style::Delimited)));
        }
        match code {
            Some(TOO_LARGE) if p.size > SIZE_FLOOR => {
                reply.limited = true;
                self.notes.detail(format!(
                    "-32001 (too large) for a request of {} bytes, above the 64 KiB floor: \
                     allowed (§8.1-c)",
                    p.size
                ));
            }
            Some(TOO_LARGE) => {
                return Err(fail(
                    "no -32001 for a request of 64 KiB or less (§8.1-b)",
                    format!(
                        "-32001 for a request of {} bytes: {}",
                        p.size,
                        reply.short()
                    ),
                ))
            }
            Some(OVERLOADED) if p.in_flight > IN_FLIGHT_FLOOR => {
                reply.limited = true;
                self.notes.detail(
                    "-32002 (overloaded) with more than 16 requests in flight: allowed (§8.2-b)",
                );
            }
            Some(OVERLOADED) => {
                return Err(fail(
                    "no -32002 while 16 requests or fewer are in flight (§8.2-a)",
                    format!(
                        "-32002 with {} request(s) in flight: {}",
                        p.in_flight,
                        reply.short()
                    ),
                ))
            }
            Some(SHUTTING_DOWN) => {
                return Err(fail(
                    "no -32003 from a server that is not shutting down (§5.5-l)",
                    format!("-32003 (shutting down): {}", reply.short()),
                )
                .hint(hints::SHUTTING_DOWN))
            }
            _ => {}
        }
        if p.jsonrpc && reply.jsonrpc.as_deref() != Some("\"2.0\"") {
            self.notes.soft_fail(
                fail(
                    "\"jsonrpc\": \"2.0\" copied into the reply (§5.3-c)",
                    format!("a reply without it: {}", reply.short()),
                )
                .hint("copy the request's \"jsonrpc\" member into the reply")
                .should(),
            );
        }
        self.arrived.borrow_mut().insert(p.ticket, reply);
        Ok(())
    }

    fn unmatched(&self, reply: &Reply, frames: &[Vec<u8>]) -> Verdict {
        let answered = self
            .answered
            .borrow()
            .iter()
            .any(|a| reply.id.same_as(a) || (*a == IdValue::Null && reply.id == IdValue::Null));
        if answered {
            let hint = if reply.id == IdValue::Null {
                format!("{} Or: {}", hints::SECOND_REPLY, hints::NOTIFICATION_REPLY)
            } else {
                hints::SECOND_REPLY.to_owned()
            };
            return fail(
                "exactly one reply per request (§5.3-d)",
                format!(
                    "a second reply with id {}: {}",
                    reply.id_text,
                    shown(frames)
                ),
            )
            .hint(hint);
        }
        if reply.id == IdValue::Null && !self.pending.borrow().iter().any(|p| p.want.is_some()) {
            return fail(
                "no reply to a notification (§5.4-a)",
                format!("a reply with id null: {}", shown(frames)),
            )
            .hint(hints::NOTIFICATION_REPLY);
        }
        let pending = self.pending.borrow();
        let waiting: Vec<&Pending> = pending.iter().filter(|p| !p.sync).collect();
        let expected = match waiting.as_slice() {
            [] => "no reply: every request of this connection was answered".to_owned(),
            [p] => format!("the reply with id {} (§5.2-a)", expect_text(&p.expect)),
            many => format!(
                "a reply with one of the {} ids waiting, e.g. {} (§5.2-a)",
                many.len(),
                expect_text(&many[0].expect)
            ),
        };
        let hint = waiting
            .iter()
            .find_map(|p| match (&p.expect, &p.want) {
                (Expect::Id(t) | Expect::IdOrNull(t), Some(w)) => {
                    Some(hints::changed_id(t, w, &reply.id_text, &reply.id))
                }
                _ => None,
            })
            .unwrap_or_else(|| hints::WRONG_PEER.to_owned());
        fail(
            expected,
            format!("a reply with id {}: {}", reply.id_text, shown(frames)),
        )
        .hint(hint)
    }

    fn silence(&self, ticket: Ticket, waited: Duration) -> Verdict {
        let pending = self.pending.borrow();
        let what = pending
            .iter()
            .find(|p| p.ticket == ticket)
            .map_or("the reply".to_owned(), |p| {
                format!("a reply with id {} (§5.3-d)", expect_text(&p.expect))
            });
        let mut v = fail(
            what,
            format!("nothing received within {} ms", waited.as_millis()),
        );
        if self.req {
            v = v.hint(hints::REQ_SILENT);
        }
        v
    }
}

impl Drop for RpcConn {
    fn drop(&mut self) {
        if !self.finished.get() {
            let left = self.pending.borrow().iter().filter(|p| !p.sync).count() as u64;
            self.left_behind.fetch_add(left, Ordering::Relaxed);
        }
    }
}

fn expect_text(e: &Expect) -> String {
    let cut = |t: &str| {
        if t.len() > 80 {
            let mut cut = 80;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}...({} bytes)", &t[..cut], t.len())
        } else {
            t.to_owned()
        }
    };
    match e {
        Expect::Id(t) => cut(t),
        Expect::IdOrNull(t) => format!("{} (or null)", cut(t)),
        Expect::Null => "null".to_owned(),
        Expect::MaybeNull => "null (or no reply)".to_owned(),
        Expect::Nothing => "(none)".to_owned(),
    }
}

fn shown(frames: &[Vec<u8>]) -> String {
    crate::trace::show_frames(frames)
}

fn invalid(frames: &[Vec<u8>], e: &NotObject) -> Verdict {
    let v = fail(
        "a reply body holding a UTF-8 JSON object (§5.3-a)",
        format!("{e}: {}", shown(frames)),
    );
    match e {
        NotObject::NotUtf8(_) => v.hint(hints::NOT_UTF8),
        NotObject::NotJson(_) => v.hint(hints::NOT_JSON),
        NotObject::Kind("an array") => v.hint(hints::BATCH),
        NotObject::Kind(_) => v,
    }
}

fn error_object(text: &str, frames: &[Vec<u8>]) -> Step<ErrorObj> {
    let expected = "an error object {\"code\": integer, \"message\": string} (§5.3-a)";
    let bad =
        |what: String, hint: &str| fail(expected, format!("{what}: {}", shown(frames))).hint(hint);
    let members = json::object(text.as_bytes()).map_err(|_| {
        bad(
            format!("`error` is {}", json::kind_of(text)),
            "`error` must be an object with an integer `code` and a string `message`, not a \
             bare string or number",
        )
    })?;
    let code = match members.get("code") {
        None => {
            return Err(bad(
                "no `code`".into(),
                "give every error an integer `code` (§5.5)",
            ))
        }
        Some(c) if c.starts_with('"') => {
            return Err(bad(
                format!("`code` is a string ({c})"),
                "`code` must be a JSON integer, not a string",
            ))
        }
        Some(c) if json::kind_of(c) != "a number" || c.contains(['.', 'e', 'E']) => {
            return Err(bad(
                format!("`code` is {c}"),
                "`code` must be a JSON integer (no fraction, no exponent)",
            ))
        }
        Some(c) => c.parse::<i64>().unwrap_or(i64::MIN),
    };
    match members.get("message") {
        Some(m) if m.starts_with('"') => {}
        Some(m) => {
            return Err(bad(
                format!("`message` is {}", json::kind_of(m)),
                "`message` must be a string",
            ))
        }
        None => {
            return Err(bad(
                "no `message`".into(),
                "give every error a string `message` (§5.3-a)",
            ))
        }
    };
    Ok(ErrorObj { code })
}

/// Fails unless the reply is an error with `code` (§5.5).
pub(crate) fn check_code(reply: &Reply, code: i64, rule: &str) -> Step<()> {
    match &reply.error {
        Some(e) if e.code == code => Ok(()),
        Some(e) => Err(fail(
            format!("error code {code} ({rule})"),
            format!("error code {}: {}", e.code, reply.short()),
        )
        .hint(hints::wrong_code(code, e.code))),
        None => Err(fail(
            format!("an error reply with code {code} ({rule})"),
            format!("a success reply: {}", reply.short()),
        )),
    }
}

/// Checks that the server still answers (§8.1-a): a new peer (another
/// peer, §2.5-a) against a ROUTER server, `conn` itself against a DEALER
/// server, which serves one peer at a time.
pub(crate) fn alive_after(ctx: &Ctx, conn: &RpcConn, after: &str) -> Step<()> {
    static N: AtomicU64 = AtomicU64::new(1);
    let id = format!("\"alive-{}\"", N.fetch_add(1, Ordering::Relaxed));
    let expected = format!("the server still answers after {after} (§8.1-a, §2.5-a)");
    let req = Request::call(&id, "ping");
    let relabel = |v: Verdict| match v {
        Verdict::Fail(mut f) => {
            f.expected = expected.clone();
            Verdict::Fail(f)
        }
        other => other,
    };
    if ctx.one_peer_only() {
        conn.call(&req).map_err(relabel)?;
        return Ok(());
    }
    let live = RpcConn::bare(ctx, "live")?;
    live.call(&req).map_err(relabel)?;
    live.finish()
}

/// Calls an optional method (§6): `Err(Unimplemented)` when the server
/// answers -32601.
pub(crate) fn call_optional(conn: &RpcConn, req: &Request, method: &str) -> Step<Reply> {
    let reply = conn.call(req)?;
    if reply.is_method_not_found() {
        return Err(Verdict::Unimplemented {
            method: method.to_owned(),
        });
    }
    Ok(reply)
}
