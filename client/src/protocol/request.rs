//! Requests in rpc mode (PROTOCOL.md §5.1, §5.2, §5.4, §5.5).

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::text::{write_str, write_value};
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
        // The body was read as UTF-8 JSON and `range` is one of its values.
        std::str::from_utf8(&self.body[range]).unwrap_or_default()
    }

    fn parse_params(&self) -> Value {
        match &self.params {
            // A value that was read once parses again; one that holds what
            // `Value` cannot (a lone surrogate) is null.
            Some(range) => serde_json::from_str(self.text(range.clone())).unwrap_or(Value::Null),
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
    let fields = Fields::read(bytes).map_err(|e| not_json(bytes, e))?;
    let at = |raw: &RawValue| {
        let start = raw.get().as_ptr() as usize - bytes.as_ptr() as usize;
        start..start + raw.get().len()
    };
    let id = match fields.id {
        None => None,
        Some(raw) => Some(checked_id(raw)?),
    };
    let method = match fields.method {
        None => Method::Absent,
        Some(raw) => {
            let text = raw.get();
            if !text.starts_with('"') {
                Method::NotString
            } else if text.contains('\\') {
                match serde_json::from_str::<String>(text) {
                    Ok(m) => Method::Owned(m.into()),
                    Err(e) => return Err(not_json(bytes, e)),
                }
            } else {
                let r = at(raw);
                Method::Plain(r.start + 1..r.end - 1)
            }
        }
    };
    let params = fields.params.map(at);
    let jsonrpc = fields.jsonrpc.map(RawValue::get) == Some("\"2.0\"");
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

/// The id of a request, checked: a string, a number or `null` (§5.2);
/// anything else is the -32600 error a server answers.
fn checked_id(raw: &RawValue) -> Result<Id, ErrorObject> {
    match raw.get().as_bytes().first() {
        Some(b'"' | b'-' | b'0'..=b'9' | b'n') => Ok(Id::from_raw(raw)),
        _ => Err(ErrorObject::invalid_request(format!(
            "`id` must be a number, a string or null, got {}",
            kind_of_text(raw.get())
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

/// The members a request is read for, borrowed from its body; every other
/// member is checked to be JSON and skipped. A member given twice counts
/// with its last value, as in a map.
#[derive(Default)]
struct Fields<'a> {
    id: Option<&'a RawValue>,
    method: Option<&'a RawValue>,
    params: Option<&'a RawValue>,
    jsonrpc: Option<&'a RawValue>,
}

impl<'a> Fields<'a> {
    fn read(bytes: &'a [u8]) -> Result<Fields<'a>, serde_json::Error> {
        read_object(bytes, FieldsVisitor)
    }
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
                Key::Id => fields.id = Some(map.next_value()?),
                Key::Method => fields.method = Some(map.next_value()?),
                Key::Params => fields.params = Some(map.next_value()?),
                Key::JsonRpc => fields.jsonrpc = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
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
    let jsonrpc = fields.jsonrpc.map(RawValue::get) == Some("\"2.0\"");
    match fields.id {
        None => Peeked::Notification,
        Some(raw) => Peeked::Id(checked_id(raw).ok(), jsonrpc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes;

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
