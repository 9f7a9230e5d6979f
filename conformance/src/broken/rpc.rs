//! rpc mode: a request to its replies (§5), as each rule breaks it. Bodies
//! are read with `serde_json` (each member's raw text kept, so an id goes
//! back as the text it came as) and replies are written by hand.

use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::Value;

use super::Break;
use crate::json::{code_units, Members};

/// One reply to send: its body frame, and a delay for `sleep`.
pub(super) struct Out {
    pub body: Vec<u8>,
    pub delay: Option<Duration>,
    pub error: bool,
}

pub(super) struct Rpc {
    pub rule: Break,
}

/// What a request turned into, before the reply is written.
enum Outcome {
    Result(String),
    Error(i64, &'static str),
}

/// The id member as the request had it.
enum Id {
    /// No `id`: a notification.
    Absent,
    /// The id's JSON text.
    Text(String),
}

impl Rpc {
    /// The replies to one request body (the frames after the envelope);
    /// `in_flight` is the peer's requests still waiting for a reply.
    pub fn handle(&self, frames: &[Vec<u8>], in_flight: usize) -> Vec<Out> {
        let r = self.rule;
        let body: Vec<u8> = match frames {
            [one] => one.clone(),
            _ if r == Break::MultiFrameLast => frames.last().cloned().unwrap_or_default(),
            _ if r == Break::MultiFrameJoined => frames.concat(),
            _ => return self.error_null(-32600, "the body must be one frame"),
        };
        if r == Break::CrashOnEmptyFrame && body.is_empty() {
            eprintln!("IndexError: empty message");
            std::process::exit(3);
        }
        if r == Break::CrashOnHuge && body.len() > 8 << 20 {
            eprintln!("MemoryError: message of {} bytes", body.len());
            std::process::exit(3);
        }
        let limit = match r {
            Break::Bounds => 64 << 10,
            Break::SmallSizeLimit => 16 << 10,
            _ => 16 << 20,
        };
        if body.len() > limit {
            return self.error_null(-32001, "too large");
        }
        let replaced;
        let decoded = std::str::from_utf8(&body);
        let valid_utf8 = decoded.is_ok();
        let text = match decoded {
            Ok(text) => text,
            Err(_) => match r {
                Break::CrashOnGarbage => {
                    eprintln!("UnicodeDecodeError: the body is not UTF-8");
                    std::process::exit(3)
                }
                Break::HangOnGarbage => hang(),
                Break::NoParseErrorReply => return Vec::new(),
                Break::Utf8Replaced | Break::Utf8WhereRead => {
                    replaced = String::from_utf8_lossy(&body);
                    &replaced
                }
                _ => return self.error_null(-32700, "not UTF-8"),
            },
        };
        if depth(text) > 1000 {
            match r {
                Break::CrashOnDeepNesting => {
                    eprintln!("RecursionError: maximum recursion depth exceeded");
                    std::process::exit(3)
                }
                Break::HangOnDeepNesting => hang(),
                _ => {}
            }
        }
        let text = self.lenient(text);
        let parsed: Result<&RawValue, _> = if r == Break::AcceptTrailingData {
            serde_json::Deserializer::from_str(&text)
                .into_iter::<&RawValue>()
                .next()
                .unwrap_or_else(|| serde_json::from_str(""))
        } else {
            serde_json::from_str(&text)
        };
        let Ok(raw) = parsed else {
            if r == Break::NoParseErrorReply {
                return Vec::new();
            }
            return self.error_null(-32700, "parse error");
        };
        let value = raw.get().trim_start();
        if value.starts_with('[') && r == Break::BatchArray {
            return self.batch(raw.get(), in_flight);
        }
        if !value.starts_with('{') {
            return self.error_null(-32600, "not an object");
        }
        let Ok(mut members) = serde_json::from_str::<Members>(raw.get()) else {
            return self.error_null(-32700, "parse error");
        };
        // Only the members it reads are checked: the bytes replaced were
        // in one of them, or the body passes.
        if r == Break::Utf8WhereRead
            && !valid_utf8
            && ["id", "method", "params"]
                .iter()
                .any(|k| members.get(k).is_some_and(|v| v.contains('\u{fffd}')))
        {
            return self.error_null(-32700, "not UTF-8");
        }
        if r == Break::IdTextSearch {
            members.0.retain(|(k, _)| k != "id");
            if let Some(found) = search_id(raw.get()) {
                members.0.push(("id".to_owned(), found));
            }
        }
        self.request(&members, in_flight)
    }

    fn batch(&self, text: &str, in_flight: usize) -> Vec<Out> {
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) else {
            return self.error_null(-32700, "parse error");
        };
        let mut replies = Vec::new();
        for item in items {
            if let Ok(m) = serde_json::from_str::<Members>(item.get()) {
                for out in self.request(&m, in_flight) {
                    replies.push(String::from_utf8_lossy(&out.body).into_owned());
                }
            }
        }
        vec![Out {
            body: format!("[{}]", replies.join(",")).into_bytes(),
            delay: None,
            error: false,
        }]
    }

    fn request(&self, m: &Members, in_flight: usize) -> Vec<Out> {
        let r = self.rule;
        let id = match m.get("id").map(str::to_owned) {
            None => Id::Absent,
            Some(t) if r == Break::IdFalsyAsNotification && (t == "0" || t == "\"\"") => Id::Absent,
            Some(t) if r == Break::IdNullAsNotification && t == "null" => Id::Absent,
            Some(t)
                if r == Break::IdFractionTruncated
                    && t.contains(['.', 'e', 'E'])
                    && !t.starts_with('"') =>
            {
                Id::Text(format!(
                    "{}",
                    t.parse::<f64>().unwrap_or(0.0).trunc() as i64
                ))
            }
            Some(t) => Id::Text(t),
        };
        if let Id::Text(t) = &id {
            let digits = t.strip_prefix('-').unwrap_or(t);
            let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            let fits = t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok();
            if r == Break::HangOnBigId && integer && !fits {
                hang();
            }
            let ok = matches!(t.as_bytes()[0], b'"' | b'-' | b'0'..=b'9' | b'n');
            if !ok && r != Break::IdWrongTypeAccepted {
                return self.error_null(-32600, "invalid id");
            }
        }
        let jsonrpc = m.get("jsonrpc").is_some_and(|v| v == "\"2.0\"");
        let method = match m.get("method") {
            Some(t) if t.starts_with('"') => {
                Ok(serde_json::from_str::<String>(t).unwrap_or_default())
            }
            _ if r == Break::MethodMissingAsUnknown => {
                Err(Outcome::Error(-32601, "method not found"))
            }
            Some(_) => Err(Outcome::Error(-32600, "method is not a string")),
            None => Err(Outcome::Error(-32600, "no method")),
        };
        let outcome = match &method {
            Err(_) if matches!(id, Id::Absent) => {
                // §5.4-c: an invalid object without id; stay silent.
                return self.notification(None);
            }
            Err(Outcome::Error(c, msg)) => Outcome::Error(*c, msg),
            Err(Outcome::Result(_)) => unreachable!("errors only"),
            Ok(_) if matches!(id, Id::Text(_)) && self.overloaded(in_flight) => {
                let id = if r == Break::OverloadWithoutId {
                    Id::Text("null".into())
                } else {
                    id
                };
                let busy = if r == Break::RejectedAsShuttingDown {
                    Outcome::Error(-32003, "shutting down")
                } else {
                    Outcome::Error(-32002, "overloaded")
                };
                let out = self.reply(&id, busy, jsonrpc, false);
                return vec![out];
            }
            Ok(name) => match self.dispatch(name, m.get("params")) {
                Dispatch::Now(o) => o,
                Dispatch::Later(o, d) => {
                    if matches!(id, Id::Absent) {
                        return self.notification(Some(o));
                    }
                    let mut out = self.reply(&id, o, jsonrpc, true);
                    out.delay = Some(d);
                    return vec![out];
                }
            },
        };
        if matches!(id, Id::Absent) {
            return self.notification(Some(outcome));
        }
        vec![self.reply(&id, outcome, jsonrpc, false)]
    }

    fn overloaded(&self, in_flight: usize) -> bool {
        match self.rule {
            Break::Bounds | Break::OverloadWithoutId | Break::RejectedAsShuttingDown => {
                in_flight >= 16
            }
            Break::EarlyOverload => in_flight >= 4,
            _ => false,
        }
    }

    /// A notification gets nothing, unless the rule answers it.
    fn notification(&self, outcome: Option<Outcome>) -> Vec<Out> {
        let outcome = outcome.unwrap_or(Outcome::Error(-32600, "invalid request"));
        let null = Id::Text("null".into());
        match (self.rule, &outcome) {
            (Break::ReplyToNotifications, _) => vec![self.reply(&null, outcome, false, false)],
            (Break::NotificationErrorReplied, Outcome::Error(..)) => {
                vec![self.reply(&null, outcome, false, false)]
            }
            (Break::ReplyToNotificationsNoId, _) => {
                vec![self.reply(&Id::Absent, outcome, false, false)]
            }
            _ => Vec::new(),
        }
    }

    fn dispatch(&self, method: &str, params: Option<&str>) -> Dispatch {
        let r = self.rule;
        match method {
            "ping" if r == Break::PingWrong => Dispatch::Now(Outcome::Result("\"PONG\"".into())),
            "ping" => Dispatch::Now(Outcome::Result("\"pong\"".into())),
            "echo" => {
                let text = params.unwrap_or("null");
                let out = match r {
                    Break::MangleEcho | Break::NulTruncate => {
                        match serde_json::from_str::<Value>(text) {
                            Ok(v) => transform(&v, r).to_string(),
                            Err(_) => text.to_owned(),
                        }
                    }
                    _ => text.to_owned(),
                };
                Dispatch::Now(Outcome::Result(out))
            }
            "sleep" => {
                let Some(ms) = sleep_ms(params, r == Break::SleepLenient) else {
                    return Dispatch::Now(Outcome::Error(-32602, "expected {\"ms\": 0..60000}"));
                };
                if ms == 0 && r == Break::SleepZeroRefused {
                    return Dispatch::Now(Outcome::Error(-32602, "expected {\"ms\": 1..60000}"));
                }
                let result = Outcome::Result(format!("{{\"ms\":{ms}}}"));
                match r {
                    Break::SleepNoWait => Dispatch::Now(result),
                    Break::BlockingSleep => {
                        std::thread::sleep(Duration::from_millis(ms));
                        Dispatch::Now(result)
                    }
                    _ => Dispatch::Later(result, Duration::from_millis(ms)),
                }
            }
            _ => Dispatch::Now(Outcome::Error(-32601, "method not found")),
        }
    }

    fn error_null(&self, code: i64, message: &'static str) -> Vec<Out> {
        vec![self.reply(
            &Id::Text("null".into()),
            Outcome::Error(code, message),
            false,
            false,
        )]
    }

    /// Writes a reply as the rule writes it.
    fn reply(&self, id: &Id, outcome: Outcome, jsonrpc: bool, deferred: bool) -> Out {
        let r = self.rule;
        let error = matches!(outcome, Outcome::Error(..));
        let id_text = match id {
            Id::Absent => None,
            Id::Text(_) if error && r == Break::ErrorWithoutId => None,
            Id::Text(_) if error && r == Break::ErrorIdNull => Some("null".to_owned()),
            Id::Text(_) if deferred && r == Break::DeferredIdLost => Some("null".to_owned()),
            Id::Text(t) => Some(self.id(t)),
        };
        let mut members: Vec<String> = Vec::new();
        if let Some(t) = &id_text {
            members.push(format!("\"id\":{t}"));
        }
        if (jsonrpc && r != Break::JsonRpcNotCopied) || r == Break::JsonRpc2 {
            members.push("\"jsonrpc\":\"2.0\"".into());
        }
        match outcome {
            Outcome::Result(v) => {
                members.push(format!("\"result\":{v}"));
                match r {
                    Break::ResultAndError => {
                        members.push(r#""error":{"code":0,"message":"none"}"#.into())
                    }
                    Break::JsonRpc1Style => members.push("\"error\":null".into()),
                    _ => {}
                }
            }
            Outcome::Error(code, message) => {
                let message = serde_json::to_string(message).unwrap_or_default();
                let code = if r == Break::WrongCodes { -32700 } else { code };
                let obj = match r {
                    Break::ErrorCodeString => {
                        format!(r#"{{"code":"{code}","message":{message}}}"#)
                    }
                    Break::ErrorAsString => message,
                    Break::ErrorNoMessage => format!(r#"{{"code":{code}}}"#),
                    Break::JsonRpc2 => format!(
                        r#"{{"code": {code}, "message": {message}, "data": {{"plug": "é"}}}}"#
                    ),
                    _ => format!(r#"{{"code":{code},"message":{message}}}"#),
                };
                members.push(format!("\"error\":{obj}"));
                match r {
                    Break::ResultAndError => members.push("\"result\":true".into()),
                    Break::JsonRpc1Style => members.push("\"result\":null".into()),
                    _ => {}
                }
            }
        }
        if r == Break::JsonRpc2 {
            // Id last, spaces after separators, as some libraries write it.
            members.rotate_left(usize::from(id_text.is_some()));
        }
        let sep = if r == Break::JsonRpc2 { ", " } else { "," };
        let text = format!("{{{}}}", members.join(sep));
        let body = match r {
            Break::JsonRpc2 => ascii_escaped(&text).into_bytes(),
            Break::Latin1Reply => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Break::Cesu8Reply => cesu8(&text),
            _ => text.into_bytes(),
        };
        Out {
            body,
            delay: None,
            error,
        }
    }

    /// The id's text in the reply, as the rule changes it.
    fn id(&self, t: &str) -> String {
        let number = t.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        let integer = number && !t.contains(['.', 'e', 'E']);
        let string = t.starts_with('"');
        let units = || code_units(t);
        let reencode =
            |u: &[u16]| serde_json::to_string(&String::from_utf16_lossy(u)).unwrap_or_default();
        match self.rule {
            Break::IdAsString if number => format!("\"{t}\""),
            Break::IdViaFloat if number => {
                let f: f64 = t.parse().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    format!("{f:.0}")
                } else {
                    format!("{f}")
                }
            }
            Break::IdU64AsFloat if integer && t.parse::<i64>().is_err() => {
                let f: f64 = t.parse().unwrap_or(0.0);
                format!("{f:e}")
            }
            Break::IdNumericStringToNumber if string => {
                let inner = String::from_utf16_lossy(&units());
                if !inner.is_empty() && inner.parse::<f64>().is_ok() {
                    inner
                } else {
                    t.to_owned()
                }
            }
            Break::IdConcat if string => format!("\"{}\"", String::from_utf16_lossy(&units())),
            Break::IdLoneSurrogateReplaced if string => reencode(&units()),
            Break::IdTruncated if string => {
                let u = units();
                if u.len() > 255 {
                    reencode(&u[..255])
                } else {
                    t.to_owned()
                }
            }
            Break::NulTruncate if string => {
                let u = units();
                match u.iter().position(|c| *c == 0) {
                    Some(i) => reencode(&u[..i]),
                    None => t.to_owned(),
                }
            }
            _ => t.to_owned(),
        }
    }

    /// The lenient parsers' extensions, turned into JSON before parsing.
    fn lenient(&self, text: &str) -> String {
        match self.rule {
            Break::AcceptNan => text
                .replace("-Infinity", "null")
                .replace("Infinity", "null")
                .replace("NaN", "null"),
            Break::LenientJson => json5ish(text),
            _ => text.to_owned(),
        }
    }
}

enum Dispatch {
    Now(Outcome),
    Later(Outcome, Duration),
}

fn sleep_ms(params: Option<&str>, lenient: bool) -> Option<u64> {
    let m = serde_json::from_str::<Members>(params?).ok()?;
    let ms = m.get("ms")?;
    if lenient {
        let ms = ms.trim_matches('"').parse::<f64>().ok()?;
        return Some(ms.clamp(0.0, 60_000.0) as u64);
    }
    if m.0.len() != 1 || ms.contains(['.', 'e', 'E', '"']) {
        return None;
    }
    ms.parse::<u64>().ok().filter(|n| *n <= 60_000)
}

/// Nesting depth of a JSON text, strings skipped.
fn depth(text: &str) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// What `/"id"\s*:\s*([^,}]+)/` finds: the first `"id":` anywhere in the
/// text, nested ones included, up to the next `,` or `}`.
fn search_id(text: &str) -> Option<String> {
    let at = text.find("\"id\"")?;
    let rest = text[at + 4..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim_end().to_owned())
}

fn hang() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn transform(v: &Value, rule: Break) -> Value {
    match v {
        Value::String(s) if rule == Break::MangleEcho => Value::from(
            s.chars()
                .map(|c| if c.is_ascii() { c } else { '?' })
                .collect::<String>(),
        ),
        Value::String(s) => Value::from(s.split('\0').next().unwrap_or("")),
        Value::Array(a) => Value::Array(a.iter().map(|x| transform(x, rule)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), transform(x, rule)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JSON text with every character outside ASCII as `\u` escapes (only
/// strings can hold them, so this is safe on a whole text).
fn ascii_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// CESU-8: characters beyond the BMP as two 3-byte surrogate halves.
fn cesu8(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if u32::from(c) < 0x10000 {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let u = u32::from(*u);
                out.push(0xe0 | (u >> 12) as u8);
                out.push(0x80 | ((u >> 6) & 0x3f) as u8);
                out.push(0x80 | (u & 0x3f) as u8);
            }
        }
    }
    out
}

/// The JSON5 a lenient parser takes: comments dropped, single quotes
/// turned into double, trailing commas dropped, bare keys quoted.
fn json5ish(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' && i + 1 < chars.len() {
                out.push(c);
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
                out.push('"');
            } else if c == '"' {
                out.push_str("\\\"");
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                out.push('"');
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}' | ']')) {
                    out.push(c);
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if next == Some(&':') {
                    out.push_str(&format!("\"{word}\""));
                } else {
                    out.push_str(&word);
                }
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json5ish_turns_extensions_into_json() {
        let t = json5ish("{'id':1,/* c */method:'ping',} // x");
        assert_eq!(t.trim(), r#"{"id":1,"method":"ping"}"#);
        assert!(serde_json::from_str::<Value>(&json5ish("{\"a\":[1,2,]}")).is_ok());
    }

    #[test]
    fn correct_replies_copy_the_id_text() {
        let rpc = Rpc { rule: Break::None };
        let out = rpc.handle(&[br#"{"id":1.50,"method":"ping"}"#.to_vec()], 0);
        assert_eq!(out[0].body, br#"{"id":1.50,"result":"pong"}"#);
        let out = rpc.handle(&[br#"{"id":"\ud800","method":"ping"}"#.to_vec()], 0);
        assert_eq!(out[0].body, br#"{"id":"\ud800","result":"pong"}"#);
        assert!(rpc
            .handle(&[br#"{"method":"ping"}"#.to_vec()], 0)
            .is_empty());
    }
}
