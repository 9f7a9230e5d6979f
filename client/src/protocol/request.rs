//! Requests in rpc mode (PROTOCOL.md §5.1, §5.2, §5.4, §5.5).

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::text::{plain_string, write_json, write_str, write_value};
use super::{ErrorObject, Id};
use crate::Frame;

/// An rpc-mode request as a server reads it.
///
/// Reading one finds its members without building them: the `id` is kept
/// as its exact JSON text, `method` as a string, `params` as the JSON text
/// it arrived as; a `Value` of the params or a map of every member is built
/// only when asked for ([`Request::params`], [`Request::object`]).
pub struct Request {
    body: Bytes,
    id: Option<Id>,
    method: Method,
    /// Where `params` is in `body`.
    params: Option<Range<usize>>,
    jsonrpc: bool,
    params_value: OnceLock<Value>,
    object: OnceLock<Map<String, Value>>,
}

/// What the `method` member was.
#[derive(Debug)]
enum Method {
    Absent,
    NotString,
    /// A string without escapes, where it is in `body` (quotes excluded).
    Plain(Range<usize>),
    /// A string with escapes, unescaped.
    Owned(Box<str>),
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl Request {
    /// The id to copy into the reply; `None` for a notification (§5.4).
    pub fn id(&self) -> Option<&Id> {
        self.id.as_ref()
    }

    /// The `method` member, or the -32600 error that a dispatching server
    /// answers when it is missing or not a string (§5.5).
    pub fn method(&self) -> Result<&str, ErrorObject> {
        match &self.method {
            Method::Plain(range) => Ok(self.text(range.clone())),
            Method::Owned(m) => Ok(m),
            Method::NotString => Err(ErrorObject::invalid_request("`method` must be a string")),
            Method::Absent => Err(ErrorObject::invalid_request("missing `method`")),
        }
    }

    /// The `params` member, `Value::Null` when absent (parsed on first use).
    pub fn params(&self) -> &Value {
        self.params_value.get_or_init(|| self.parse_params())
    }

    /// The `params` member by value, `Value::Null` when absent.
    pub fn take_params(&mut self) -> Value {
        match self.params_value.take() {
            Some(v) => v,
            None => self.parse_params(),
        }
    }

    /// The `params` member as the JSON text it arrived as, if present.
    pub fn params_json(&self) -> Option<&str> {
        self.params.clone().map(|r| self.text(r))
    }

    /// Every member of the request object except `id` (built on first use).
    pub fn object(&self) -> &Map<String, Value> {
        self.object.get_or_init(|| {
            let mut object: Map<String, Value> =
                serde_json::from_slice(&self.body).unwrap_or_default();
            object.remove("id");
            object
        })
    }

    /// Whether the request said `"jsonrpc": "2.0"`, which the reply copies.
    pub fn is_jsonrpc(&self) -> bool {
        self.jsonrpc
    }

    /// A notification has no `id` and gets no reply.
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    fn text(&self, range: Range<usize>) -> &str {
        let span = &self.body[range];
        debug_assert!(std::str::from_utf8(span).is_ok());
        // SAFETY: a request is made only by `read_frame`, from a body that
        // `Fields::read_plain` or `read_fields` checked in whole as UTF-8,
        // and which it keeps unchanged; `range` is the span of one of its
        // JSON values or the inside of a string's quotes: next to ASCII
        // bytes on both ends, so on char boundaries.
        unsafe { std::str::from_utf8_unchecked(span) }
    }

    fn parse_params(&self) -> Value {
        match &self.params {
            // A value that was read once parses again; one that holds what
            // `Value` cannot (a lone surrogate) is null.
            Some(range) => {
                let text = self.text(range.clone());
                match plain_string(text.as_bytes()) {
                    // A string without escapes is its own text.
                    Some(len) if len == text.len() => Value::String(text[1..len - 1].to_owned()),
                    _ => serde_json::from_str(text).unwrap_or(Value::Null),
                }
            }
            None => Value::Null,
        }
    }
}

/// Reads the body of an rpc-mode request (§5.1, §5.5).
///
/// On error, the returned object is what the server answers, with `"id":
/// null`: -32700 for a body that is not UTF-8 JSON, -32600 for anything
/// that is JSON but not a request.
pub fn parse_request(body: &[Frame]) -> Result<Request, ErrorObject> {
    match body {
        [frame] => read_frame(frame.bytes().clone()),
        _ => Err(not_one_frame(body.len())),
    }
}

/// Like [`parse_request`], taking the body: the request keeps its frame
/// rather than a clone of it (a clone of a frame that has only one owner
/// costs an allocation).
pub fn read_request(mut body: Vec<Frame>) -> Result<Request, ErrorObject> {
    match body.pop() {
        Some(frame) if body.is_empty() => read_frame(frame.into_bytes()),
        popped => Err(not_one_frame(body.len() + usize::from(popped.is_some()))),
    }
}

fn not_one_frame(frames: usize) -> ErrorObject {
    ErrorObject::invalid_request(format!("the body must be exactly one frame, got {frames}"))
}

fn read_frame(frame: Bytes) -> Result<Request, ErrorObject> {
    let bytes: &[u8] = &frame;
    // Either read checks the whole body as UTF-8, which `Request::text`
    // relies on.
    let fields = match Fields::read_plain(bytes) {
        Some(plain) => plain,
        None => read_fields(bytes)?,
    };
    let at = |text: &str| {
        let start = text.as_ptr() as usize - bytes.as_ptr() as usize;
        start..start + text.len()
    };
    let id = match fields.id {
        None => None,
        Some(raw) => Some(checked_id(raw)?),
    };
    let method = match fields.method {
        None => Method::Absent,
        Some(text) => {
            if !text.starts_with('"') {
                Method::NotString
            } else if text.contains('\\') {
                match serde_json::from_str::<String>(text) {
                    Ok(m) => Method::Owned(m.into()),
                    Err(e) => return Err(not_json(bytes, e)),
                }
            } else {
                let r = at(text);
                Method::Plain(r.start + 1..r.end - 1)
            }
        }
    };
    let params = fields.params.map(at);
    let jsonrpc = fields.jsonrpc == Some("\"2.0\"");
    Ok(Request {
        body: frame,
        id,
        method,
        params,
        jsonrpc,
        params_value: OnceLock::new(),
        object: OnceLock::new(),
    })
}

/// The members of a body that is not in the plain shape, read in full.
fn read_fields(bytes: &[u8]) -> Result<Fields<'_>, ErrorObject> {
    // The whole body, before anything is read of it: the reader below
    // checks the text of the members it keeps, and skips the others.
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ErrorObject::parse_error(format!("body is not UTF-8 ({e})")));
    }
    if first_byte(bytes) != Some(b'{') {
        // Not an object: which error depends on whether it is JSON at all.
        return Err(match serde_json::from_slice::<IgnoredAny>(bytes) {
            Ok(_) => {
                let kind = serde_json::from_slice::<Value>(bytes)
                    .map(|v| kind_of(&v))
                    .unwrap_or("not an object");
                ErrorObject::invalid_request(format!("the body must be a JSON object, got {kind}"))
            }
            Err(e) => not_json(bytes, e),
        });
    }
    read_object(bytes, FieldsVisitor).map_err(|e| not_json(bytes, e))
}

/// The id of a request, checked: a string, a number or `null` (§5.2);
/// anything else is the -32600 error a server answers.
fn checked_id(text: &str) -> Result<Id, ErrorObject> {
    match text.as_bytes().first() {
        Some(b'"' | b'-' | b'0'..=b'9' | b'n') => Ok(Id::from_text(text)),
        _ => Err(ErrorObject::invalid_request(format!(
            "`id` must be a number, a string or null, got {}",
            kind_of_text(text)
        ))),
    }
}

fn first_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn not_json(bytes: &[u8], e: serde_json::Error) -> ErrorObject {
    if std::str::from_utf8(bytes).is_err() {
        ErrorObject::parse_error(format!("body is not UTF-8 ({e})"))
    } else {
        ErrorObject::parse_error(e)
    }
}

/// The members a request is read for, as their JSON text borrowed from its
/// body; every other member is checked to be JSON and skipped. A member
/// given twice counts with its last value, as in a map.
#[derive(Default, Debug, PartialEq)]
struct Fields<'a> {
    id: Option<&'a str>,
    method: Option<&'a str>,
    params: Option<&'a str>,
    jsonrpc: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn read(bytes: &'a [u8]) -> Result<Fields<'a>, serde_json::Error> {
        if let Some(plain) = Fields::read_plain(bytes) {
            return Ok(plain);
        }
        read_object(bytes, FieldsVisitor)
    }

    /// The request a plug writes, exactly `{"id":N,"method":"M"}` or
    /// `{"id":N,"method":"M","params":P}` with a counter's id, a method and
    /// a string `params` without escapes, or a `params` that is an integer,
    /// `true`, `false` or `null`: read without the visitor (most of the
    /// work). `None` for any other text, which is then read in full: this
    /// accepts only text the full read accepts, with the same members.
    fn read_plain(bytes: &'a [u8]) -> Option<Fields<'a>> {
        let rest = bytes.strip_prefix(br#"{"id":"#)?;
        let (id, rest) = rest.split_at(integer(rest, false)?);
        let rest = rest.strip_prefix(br#","method":"#)?;
        let (method, rest) = rest.split_at(plain_string(rest)?);
        let (params, rest) = match rest.strip_prefix(br#","params":"#) {
            None => (None, rest),
            Some(rest) => {
                let len = match rest.first()? {
                    b'"' => plain_string(rest)?,
                    b't' if rest.starts_with(b"true") => 4,
                    b'f' if rest.starts_with(b"false") => 5,
                    b'n' if rest.starts_with(b"null") => 4,
                    _ => integer(rest, true)?,
                };
                let (params, rest) = rest.split_at(len);
                (Some(params), rest)
            }
        };
        if rest != b"}" {
            return None;
        }
        // The whole body is checked as UTF-8 at once (one call costs less
        // than one per span); each span starts and ends at an ASCII byte.
        let whole = std::str::from_utf8(bytes).ok()?;
        let text = |span: &[u8]| {
            let start = span.as_ptr() as usize - bytes.as_ptr() as usize;
            &whole[start..start + span.len()]
        };
        Some(Fields {
            id: Some(text(id)),
            method: Some(text(method)),
            params: params.map(text),
            jsonrpc: None,
        })
    }
}

/// The length of the JSON integer at the start of `bytes` (no fraction or
/// exponent; negative only when `signed`), up to 20 digits.
pub(super) fn integer(bytes: &[u8], signed: bool) -> Option<usize> {
    let sign = usize::from(signed && bytes.first() == Some(&b'-'));
    let digits = bytes[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let leading_zero = digits > 1 && bytes[sign] == b'0';
    let next = bytes.get(sign + digits);
    if digits == 0 || digits > 20 || leading_zero || matches!(next, Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some(sign + digits)
}

/// Reads `bytes`, which must be one JSON object and nothing after it, with
/// `visitor`.
pub(super) fn read_object<'a, V: Visitor<'a>>(
    bytes: &'a [u8],
    visitor: V,
) -> Result<V::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = de.deserialize_map(visitor)?;
    de.end()?;
    Ok(value)
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Fields::default();
        while let Some(Name(key)) = map.next_key::<Name<Key>>()? {
            match key {
                Key::Id => fields.id = Some(text(&mut map)?),
                Key::Method => fields.method = Some(text(&mut map)?),
                Key::Params => fields.params = Some(text(&mut map)?),
                Key::JsonRpc => fields.jsonrpc = Some(text(&mut map)?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// The next value's JSON text.
fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<&'de str, A::Error> {
    map.next_value::<&RawValue>().map(RawValue::get)
}

/// A member's name, told apart without allocating.
enum Key {
    Id,
    Method,
    Params,
    JsonRpc,
    Other,
}

impl MemberName for Key {
    fn from_name(name: &str) -> Key {
        match name {
            "id" => Key::Id,
            "method" => Key::Method,
            "params" => Key::Params,
            "jsonrpc" => Key::JsonRpc,
            _ => Key::Other,
        }
    }
}

/// The member names a reader tells apart, as an enum.
pub(super) trait MemberName: Sized {
    fn from_name(name: &str) -> Self;
}

/// A member name read as a [`MemberName`], without allocating.
pub(super) struct Name<K>(pub(super) K);

impl<'de, K: MemberName> de::Deserialize<'de> for Name<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name<K>, D::Error> {
        struct NameVisitor<K>(std::marker::PhantomData<K>);
        impl<K: MemberName> Visitor<'_> for NameVisitor<K> {
            type Value = Name<K>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name<K>, E> {
                Ok(Name(K::from_name(name)))
            }
        }
        d.deserialize_str(NameVisitor(std::marker::PhantomData))
    }
}

/// The body of a request from the plug: `object` with `id` set to `id`,
/// first. Any `id` the caller put there is replaced, as SocketStream did.
pub fn encode_request(object: Map<String, Value>, id: Option<u64>) -> Vec<u8> {
    // Room for a small request at once: growing the buffer on the way
    // costs a copy and a second allocation for most requests.
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    let mut first = true;
    if let Some(id) = id {
        out.extend_from_slice(b"\"id\":");
        out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
        first = false;
    }
    for (key, value) in &object {
        if key == "id" {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(&mut out, key);
        out.push(b':');
        write_value(&mut out, value);
    }
    out.push(b'}');
    out
}

/// The body of a request from [`RpcPlug::call`](crate::RpcPlug::call):
/// `{"id":id,"method":method,"params":params}`, in that order. Fails when
/// `params` does not serialize as JSON (a map whose keys are not strings).
pub fn encode_call<P: Serialize + ?Sized>(
    method: &str,
    params: &P,
    id: u64,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(br#"{"id":"#);
    out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    out.extend_from_slice(br#","method":"#);
    write_str(&mut out, method);
    out.extend_from_slice(br#","params":"#);
    write_json(&mut out, params)?;
    out.push(b'}');
    Ok(out)
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn kind_of_text(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        _ => "something else",
    }
}

/// What can be read of the id of a request that will not be parsed in full.
pub enum Peeked {
    /// A JSON object without `id`: no reply.
    Notification,
    /// The id (`None` when unreadable, answered with `"id": null`) and
    /// whether the request said `"jsonrpc": "2.0"`.
    Id(Option<Id>, bool),
}

/// Reads only the `id` (and `jsonrpc`) of a body, skipping everything else
/// without building it: what a server needs to refuse a request it will not
/// parse in full (-32001, -32002, -32003). The id rules are those of
/// [`parse_request`].
pub fn peek_id(body: &[Frame]) -> Peeked {
    let [frame] = body else {
        return Peeked::Id(None, false);
    };
    if first_byte(frame) != Some(b'{') {
        return Peeked::Id(None, false);
    }
    let Ok(fields) = Fields::read(frame) else {
        return Peeked::Id(None, false);
    };
    let jsonrpc = fields.jsonrpc == Some("\"2.0\"");
    match fields.id {
        None => Peeked::Notification,
        Some(raw) => Peeked::Id(checked_id(raw).ok(), jsonrpc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes;

    /// The plain read takes a text only if the full read takes it, and then
    /// reads the same members; it takes the requests a plug writes.
    #[test]
    fn the_plain_read_agrees_with_the_full_read() {
        let plain: &[&[u8]] = &[
            br#"{"id":1,"method":"ping"}"#,
            br#"{"id":0,"method":"","params":null}"#,
            "{\"id\":18446744073709551615,\"method\":\"echo\",\"params\":\"x y \u{7f}\"}"
                .as_bytes(),
            "{\"id\":7,\"method\":\"é☃\",\"params\":\"𝄞\"}".as_bytes(),
            br#"{"id":2,"method":"m","params":-0}"#,
            br#"{"id":3,"method":"m","params":-12345678901234567890}"#,
            br#"{"id":4,"method":"m","params":true}"#,
            br#"{"id":5,"method":"m","params":false}"#,
        ];
        let other: &[&[u8]] = &[
            br#"{"id":01,"method":"m"}"#,
            br#"{"id":-1,"method":"m"}"#,
            br#"{"id":1.5,"method":"m"}"#,
            br#"{"id":123456789012345678901,"method":"m"}"#,
            br#"{"id":1,"method":"m\n"}"#,
            b"{\"id\":1,\"method\":\"a\tb\"}",
            b"{\"id\":1,\"method\":\"\xff\"}",
            b"{\"id\":1,\"method\":\"m\",\"params\":\"\xc3\"}",
            br#"{"id":1,"method":"m""#,
            br#"{"id":1,"method":"m"}}"#,
            br#"{"id":1,"method":"m"} "#,
            br#"{"id":1,"method":"m","params":}"#,
            br#"{"id":1,"method":"m","params":-}"#,
            br#"{"id":1,"method":"m","params":01}"#,
            br#"{"id":1,"method":"m","params":1.5}"#,
            br#"{"id":1,"method":"m","params":1e3}"#,
            br#"{"id":1,"method":"m","params":1E3}"#,
            br#"{"id":1,"method":"m","params":nullx}"#,
            br#"{"id":1,"method":"m","params":tru}"#,
            br#"{"id":1,"method":"m","params":[1]}"#,
            br#"{"id":1,"method":"m","params":"a","x":1}"#,
            br#"{"id":1,"method":7}"#,
            br#"{"method":"m","id":1}"#,
            br#"{"id":1,"method":"m","params":"a"]"#,
        ];
        for (i, body) in plain.iter().chain(other).enumerate() {
            let text = String::from_utf8_lossy(body);
            let full = read_object(body, FieldsVisitor);
            match Fields::read_plain(body) {
                Some(fields) => {
                    let full = full
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{text}: read plain, yet {e}"));
                    assert_eq!(&fields, full, "{text}");
                }
                None => assert!(i >= plain.len(), "{text}: not read plain"),
            }
            assert_eq!(Fields::read(body).ok(), full.ok(), "{text}");
        }
    }

    /// `params` reads as a general JSON reader reads it, whether it is a
    /// string taken as it is or anything else.
    #[test]
    fn params_read_as_a_full_parse_reads_them() {
        let params = [
            r#""""#,
            r#""x y""#,
            "\"é ☃ 𝄞 \u{7f}\"",
            r#""a\u0041\"b""#,
            r#""\\""#,
            r#""/\/""#,
            "7",
            "[1,\"x\"]",
            r#"{"k":"v"}"#,
            "null",
        ];
        for p in params {
            for body in [
                format!(r#"{{"id":1,"method":"m","params":{p}}}"#),
                format!(r#"{{"params":{p},"method":"m","id":1}}"#),
            ] {
                let full: Value = serde_json::from_str(&body).unwrap();
                let mut request = parse(body.as_bytes()).unwrap();
                assert_eq!(request.params(), &full["params"], "{body}");
                assert_eq!(request.take_params(), full["params"], "{body}");
            }
        }
    }

    fn parse(s: &[u8]) -> Result<Request, ErrorObject> {
        parse_request(&[Frame::from(s)])
    }

    #[test]
    fn ids_keep_their_exact_text() {
        for id in [
            "0",
            "-1",
            "9007199254740993",
            "9223372036854775807",
            "18446744073709551615",
            "-9223372036854775808",
            "123456789012345678901234567890",
            "1.50",
            "1e3",
            "\"\"",
            "\"a\\\"b\\\\c\\u0000\"",
            "\"\u{1F600}\"",
            "null",
        ] {
            let body = format!(r#"{{"method":"ping","id":{id}}}"#);
            let req = parse(body.as_bytes()).unwrap();
            assert_eq!(req.id().map(Id::json), Some(id), "id {id}");
            assert_eq!(req.method().unwrap(), "ping");
        }
    }

    #[test]
    fn error_rules() {
        assert_eq!(parse(b"{nope").unwrap_err().code, codes::PARSE_ERROR);
        assert_eq!(parse(b"\xff\xfe").unwrap_err().code, codes::PARSE_ERROR);
        // Invalid UTF-8 in a member no reader keeps, or outside an object.
        for body in [
            &b"{\"x\":\"\xff\"}"[..],
            b"{\"id\":1,\"method\":\"m\",\"x\":[\"\xc0\xaf\"]}",
            b"[\"\xff\"]",
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(
                e.code,
                codes::PARSE_ERROR,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(parse(b"[1,2]").unwrap_err().code, codes::INVALID_REQUEST);
        assert_eq!(parse(b"42").unwrap_err().code, codes::INVALID_REQUEST);
        assert_eq!(
            parse(br#"{"id":{"a":1}}"#).unwrap_err().code,
            codes::INVALID_REQUEST
        );
        assert_eq!(
            parse(br#"{"id":true}"#).unwrap_err().code,
            codes::INVALID_REQUEST
        );
        let two = [Frame::from("{}"), Frame::from("{}")];
        assert_eq!(
            parse_request(&two).unwrap_err().code,
            codes::INVALID_REQUEST
        );
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()).unwrap_err().code, codes::PARSE_ERROR);
    }

    #[test]
    fn notifications_and_methods() {
        let n = parse(br#"{"method":"tick"}"#).unwrap();
        assert!(n.is_notification());
        let bad = parse(br#"{"id":1,"method":5}"#).unwrap();
        assert_eq!(bad.method().unwrap_err().code, codes::INVALID_REQUEST);
        let rpc = parse(br#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#).unwrap();
        assert!(rpc.is_jsonrpc());
        assert_eq!(rpc.params(), &serde_json::json!([1]));
    }

    #[test]
    fn encode_sets_and_replaces_the_id() {
        let obj = serde_json::json!({"id": "theirs", "method": "moveCar"});
        let Value::Object(map) = obj else {
            unreachable!()
        };
        let bytes = encode_request(map.clone(), Some(7));
        assert_eq!(bytes, br#"{"id":7,"method":"moveCar"}"#);
        assert_eq!(encode_request(map, None), br#"{"method":"moveCar"}"#);
    }

    fn peek(s: &str) -> Option<Option<String>> {
        match peek_id(&[Frame::from(s)]) {
            Peeked::Notification => None,
            Peeked::Id(id, _) => Some(id.map(|i| i.json().to_owned())),
        }
    }

    #[test]
    fn peek_reads_the_id_without_the_rest() {
        assert_eq!(peek(r#"{"id":7,"params":[1,2,3]}"#), Some(Some("7".into())));
        assert_eq!(
            peek(r#"{"params":{"id":1},"id":"x"}"#),
            Some(Some("\"x\"".into()))
        );
        assert_eq!(peek(r#"{"id":null}"#), Some(Some("null".into())));
        assert_eq!(
            peek(r#"{"id":123456789012345678901234567890}"#),
            Some(Some("123456789012345678901234567890".into()))
        );
        assert_eq!(peek(r#"{"method":"x"}"#), None);
        assert_eq!(peek(r#"{"id":[1]}"#), Some(None));
        assert_eq!(peek(r#"{"id":true}"#), Some(None));
        assert_eq!(peek("[1]"), Some(None));
        assert_eq!(peek("\u{1}garbage"), Some(None));
        assert!(matches!(
            peek_id(&[Frame::from(r#"{"jsonrpc":"2.0","id":1}"#)]),
            Peeked::Id(Some(_), true)
        ));
    }
}
