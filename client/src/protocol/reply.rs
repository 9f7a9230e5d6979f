//! Replies in rpc mode (PROTOCOL.md §5.3, §7.3): built by servers, read by
//! plugs.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;

use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::request::{integer, kind_of, read_object, MemberName, Name};
use super::text::{plain_string, write_value};
use super::{ErrorObject, Id};

/// What a reply carries besides its id.
enum Outcome<'a> {
    Result(&'a Value),
    Error(&'a ErrorObject),
}

fn encode(id: Option<&Id>, jsonrpc: bool, outcome: Outcome<'_>) -> Vec<u8> {
    let id = id.map_or("null", Id::json);
    let size = match outcome {
        Outcome::Result(Value::String(s)) => s.len(),
        _ => 64,
    };
    let mut out = Vec::with_capacity(size + id.len() + 48);
    out.push(b'{');
    if jsonrpc {
        out.extend_from_slice(br#""jsonrpc":"2.0","#);
    }
    out.extend_from_slice(b"\"id\":");
    out.extend_from_slice(id.as_bytes());
    match outcome {
        Outcome::Result(result) => {
            out.extend_from_slice(b",\"result\":");
            write_value(&mut out, result);
        }
        Outcome::Error(error) => {
            out.extend_from_slice(b",\"error\":");
            serde_json::to_writer(&mut out, error).expect("an error object serializes");
        }
    }
    out.push(b'}');
    out
}

/// A success reply: `{"id": <id>, "result": <result>}`, with
/// `"jsonrpc": "2.0"` first when the request had it. `None` writes `"id": null`.
pub fn encode_result(id: Option<&Id>, jsonrpc: bool, result: &Value) -> Vec<u8> {
    encode(id, jsonrpc, Outcome::Result(result))
}

/// An error reply: `{"id": <id>, "error": {...}}`.
pub fn encode_error(id: Option<&Id>, jsonrpc: bool, error: &ErrorObject) -> Vec<u8> {
    encode(id, jsonrpc, Outcome::Error(error))
}

/// Why a message cannot be read as a reply.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The body is not UTF-8 JSON.
    #[error("reply is not JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("reply is {0}, not a JSON object")]
    NotObject(&'static str),
    /// The reply has both `result` and `error`, or neither (§5.3).
    #[error("reply must have exactly one of `result` and `error`")]
    ResultXorError,
    /// `error` is not `{code: integer, message: string, data?}`.
    #[error("reply `error` is not an error object: {0}")]
    BadErrorObject(String),
}

/// A reply body as the plug reads it: the id as the exact JSON text that
/// came back ([`Id`]), the `result` or `error` member, and the whole object,
/// as the callback of SocketStream received it.
///
/// A small body is read for the members a plug needs to complete a request
/// (the rest is checked, not kept), and the map of every member is built
/// from the body when it is first asked for ([`ReplyBody::object`]). A body
/// over [`ReplyBody::LAZY_MAX`] is read into the map at once, and not kept:
/// kept in a reply, it would keep the buffer it was read into, and the
/// connection would read the next message into fresh memory.
#[derive(Clone)]
pub struct ReplyBody {
    id: Option<Id>,
    members: Members,
}

#[derive(Clone)]
enum Members {
    Lazy {
        result: Option<Value>,
        /// Boxed, as the map below: rare, and a reply is moved several
        /// times on its way to the caller.
        error: Option<Box<Value>>,
        body: Bytes,
        object: OnceLock<Box<Map<String, Value>>>,
    },
    Whole(Box<Map<String, Value>>),
}

impl ReplyBody {
    /// The largest body kept whole for a map built on first use: the size
    /// up to which the native transport copies a frame out of the buffer it
    /// read it into.
    pub const LAZY_MAX: usize = plug_zmtp::DEFAULT_COPY_LIMIT;

    /// Parses a reply body in one pass, keeping the id's exact text; the id
    /// and outcome are checked separately so a broken reply can still be
    /// matched to its request.
    pub fn parse(bytes: &[u8]) -> Result<ReplyBody, ReplyError> {
        if bytes.len() > Self::LAZY_MAX {
            return ReplyBody::whole(bytes);
        }
        ReplyBody::read(Bytes::copy_from_slice(bytes))
    }

    /// Like [`ReplyBody::parse`], keeping a small `body` itself rather than
    /// a copy.
    pub fn read(body: Bytes) -> Result<ReplyBody, ReplyError> {
        ReplyBody::read_or_return(body).map_err(|(e, _)| e)
    }

    /// Like [`ReplyBody::read`], giving `body` back with the error.
    pub(crate) fn read_or_return(body: Bytes) -> Result<ReplyBody, (ReplyError, Bytes)> {
        if body.len() > Self::LAZY_MAX {
            return ReplyBody::whole(&body).map_err(|e| (e, body));
        }
        let Needed { id, result, error } = match Needed::read(&body) {
            Ok(needed) => needed,
            Err(e) => return Err((refused(&body, e), body)),
        };
        Ok(ReplyBody {
            id,
            members: Members::Lazy {
                result,
                error: error.map(Box::new),
                body,
                object: OnceLock::new(),
            },
        })
    }

    fn whole(bytes: &[u8]) -> Result<ReplyBody, ReplyError> {
        read_object(bytes, WholeVisitor).map_err(|e| refused(bytes, e))
    }

    /// The body a small reply was read from (see [`ReplyBody::LAZY_MAX`]).
    pub(crate) fn kept_body(&self) -> Option<&Bytes> {
        match &self.members {
            Members::Lazy { body, .. } => Some(body),
            Members::Whole(_) => None,
        }
    }

    /// The `id` member as its exact JSON text.
    pub fn id(&self) -> Option<&Id> {
        self.id.as_ref()
    }

    /// The id as an integer from the plug's counter, if it is one.
    pub fn counter_id(&self) -> Option<u64> {
        self.id.as_ref().and_then(Id::as_u64)
    }

    /// `Ok(result)`, `Err(Ok(error))` for an error reply, or the protocol
    /// violation (§7.3).
    pub fn outcome(&self) -> Result<Result<&Value, ErrorObject>, ReplyError> {
        let error = match &self.members {
            Members::Lazy { error, .. } => error.as_deref(),
            Members::Whole(object) => object.get("error"),
        };
        match (self.result(), error) {
            (Some(r), None) => Ok(Ok(r)),
            (None, Some(e)) => ErrorObject::deserialize_from(e).map(Err),
            _ => Err(ReplyError::ResultXorError),
        }
    }

    /// The `result` member, if there is one.
    pub fn result(&self) -> Option<&Value> {
        match &self.members {
            Members::Lazy { result, .. } => result.as_ref(),
            Members::Whole(object) => object.get("result"),
        }
    }

    /// The `result` member by value, if there is one.
    pub fn into_result(self) -> Option<Value> {
        match self.members {
            Members::Lazy { result, .. } => result,
            Members::Whole(mut object) => object.remove("result"),
        }
    }

    /// The whole reply object, `id` included.
    pub fn object(&self) -> &Map<String, Value> {
        match &self.members {
            Members::Lazy { object, .. } => object.get_or_init(|| Box::new(self.build_object())),
            Members::Whole(object) => object,
        }
    }

    /// The whole reply object, by value.
    pub fn into_object(mut self) -> Map<String, Value> {
        let built = match &mut self.members {
            Members::Lazy { object, .. } => object.take(),
            Members::Whole(object) => Some(std::mem::take(object)),
        };
        match built {
            Some(object) => *object,
            None => self.build_object(),
        }
    }

    /// The exact id and the whole object, by value.
    pub fn into_parts(mut self) -> (Option<Id>, Map<String, Value>) {
        (self.id.take(), self.into_object())
    }

    /// The exact id and the rest, by value: how a plug keeps the id apart
    /// from the reply it completes a request with.
    pub fn take_id(mut self) -> (Option<Id>, ReplyBody) {
        (self.id.take(), self)
    }

    /// The map of a small body, from the body.
    fn build_object(&self) -> Map<String, Value> {
        let Members::Lazy {
            result,
            error,
            body,
            ..
        } = &self.members
        else {
            return Map::new();
        };
        // Every member was parsed when the body was read, so this parse
        // succeeds; were it ever to fail, the members read are still there.
        match serde_json::from_slice(body) {
            Ok(object) => object,
            Err(_) => {
                let mut object = Map::new();
                if let Some(id) = &self.id {
                    object.insert("id".into(), id.to_value());
                }
                if let Some(result) = result {
                    object.insert("result".into(), result.clone());
                }
                if let Some(error) = error {
                    object.insert("error".into(), Value::clone(error));
                }
                object
            }
        }
    }
}

/// The error for a body that is not a JSON object: only on the way to an
/// error, tells a JSON value that is not an object from something that is
/// not JSON at all.
fn refused(bytes: &[u8], e: serde_json::Error) -> ReplyError {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(_)) | Err(_) => ReplyError::NotJson(e.to_string()),
        Ok(other) => ReplyError::NotObject(kind_of(&other)),
    }
}

impl PartialEq for ReplyBody {
    fn eq(&self, other: &ReplyBody) -> bool {
        self.id == other.id && self.object() == other.object()
    }
}

impl fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyBody")
            .field("id", &self.id)
            .field("object", self.object())
            .finish()
    }
}

/// The map key serde_json uses to carry a `RawValue` through `Value`.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The members of a reply a plug needs, read in one pass over the body.
/// Every other member is parsed as a `Value` too, and dropped: the body
/// passes only if all of it would, so the whole object can be built from
/// it later. A member given twice counts with its last value, as in a map.
#[derive(Default)]
struct Needed {
    id: Option<Id>,
    result: Option<Value>,
    error: Option<Value>,
}

impl Needed {
    fn read(body: &[u8]) -> Result<Needed, serde_json::Error> {
        if let Some(plain) = Needed::read_plain(body) {
            return Ok(plain);
        }
        read_object(body, NeededVisitor)
    }

    /// The reply most servers write to a plug's request, exactly
    /// `{"id":N,"result":V}` with a counter's id and a result that is not
    /// an array or object, read without the visitor (a third of the work).
    /// `None` for any other text, which is then read in full: this accepts
    /// only text the full read accepts, and reads the same members from it.
    fn read_plain(body: &[u8]) -> Option<Needed> {
        let rest = body.strip_prefix(br#"{"id":"#)?;
        let (id, rest) = rest.split_at(integer(rest, false)?);
        let rest = rest.strip_prefix(br#","result":"#)?;
        // Nested values are left to the full read: its depth limit counts
        // the reply object too.
        if matches!(rest.first(), Some(b'[' | b'{')) {
            return None;
        }
        let (result, used) = match plain_string(rest) {
            // A string without escapes is its own text, if it is UTF-8.
            Some(len) => {
                let text = std::str::from_utf8(&rest[1..len - 1]).ok()?;
                (Value::String(text.to_owned()), len)
            }
            None => {
                let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
                (values.next()?.ok()?, values.byte_offset())
            }
        };
        if &rest[used..] != b"}" {
            return None;
        }
        Some(Needed {
            // Digits, as `integer` checked: JSON text as they are.
            id: Some(Id::from_text(std::str::from_utf8(id).ok()?)),
            result: Some(result),
            error: None,
        })
    }
}

struct NeededVisitor;

impl<'de> Visitor<'de> for NeededVisitor {
    type Value = Needed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Needed, A::Error> {
        let mut members = Needed::default();
        while let Some(Name(key)) = map.next_key::<Name<Key>>()? {
            match key {
                Key::Id => {
                    let raw: &RawValue = map.next_value()?;
                    // The id must read as a `Value` too, for the object.
                    serde_json::from_str::<Value>(raw.get()).map_err(de::Error::custom)?;
                    members.id = Some(Id::from_raw(raw));
                }
                Key::Result => members.result = Some(map.next_value()?),
                Key::Error => members.error = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<Value>()?;
                }
                // serde_json's `Value` gives this key a meaning of its own;
                // refused here so a reply reads as `Value` would read it
                // (and as the server side reads a request).
                Key::Reserved => return Err(de::Error::custom("reserved key")),
            }
        }
        Ok(members)
    }
}

/// Reads a body into the map of every member, keeping the id's exact text
/// on the way.
struct WholeVisitor;

impl<'de> Visitor<'de> for WholeVisitor {
    type Value = ReplyBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<ReplyBody, A::Error> {
        let mut object = Map::new();
        let mut id = None;
        while let Some(key) = members.next_key::<String>()? {
            if key == RAW_VALUE_TOKEN {
                return Err(de::Error::custom("reserved key"));
            }
            if key == "id" {
                let raw: &RawValue = members.next_value()?;
                let value = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
                object.insert(key, value);
                id = Some(Id::from_raw(raw));
            } else {
                object.insert(key, members.next_value()?);
            }
        }
        Ok(ReplyBody {
            id,
            members: Members::Whole(Box::new(object)),
        })
    }
}

/// A member's name, told apart without allocating.
enum Key {
    Id,
    Result,
    Error,
    Reserved,
    Other,
}

impl MemberName for Key {
    fn from_name(name: &str) -> Key {
        match name {
            "id" => Key::Id,
            "result" => Key::Result,
            "error" => Key::Error,
            RAW_VALUE_TOKEN => Key::Reserved,
            _ => Key::Other,
        }
    }
}

impl ErrorObject {
    fn deserialize_from(v: &Value) -> Result<ErrorObject, ReplyError> {
        ErrorObject::deserialize(v).map_err(|e| ReplyError::BadErrorObject(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{codes, parse_request};
    use crate::Frame;
    use serde_json::json;

    #[test]
    fn replies_copy_the_id_text() {
        let req = parse_request(&[Frame::from(
            r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"x"}"#,
        )])
        .unwrap();
        let out = encode_result(req.id(), req.is_jsonrpc(), &json!({"ok": true}));
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"result":{"ok":true}}"#
        );
        let err = encode_error(None, false, &ErrorObject::parse_error("x"));
        assert_eq!(
            std::str::from_utf8(&err).unwrap(),
            r#"{"id":null,"error":{"code":-32700,"message":"parse error: x"}}"#
        );
    }

    #[test]
    fn outcomes() {
        let ok = ReplyBody::parse(br#"{"id":1,"result":[1]}"#).unwrap();
        assert_eq!(ok.counter_id(), Some(1));
        assert_eq!(ok.id().map(Id::json), Some("1"));
        assert_eq!(ok.object()["id"], json!(1));
        assert_eq!(ok.outcome().unwrap().unwrap(), &json!([1]));
        let e = ReplyBody::parse(br#"{"id":2,"error":{"code":-32601,"message":"no"}}"#).unwrap();
        assert_eq!(
            e.outcome().unwrap().unwrap_err().code,
            codes::METHOD_NOT_FOUND
        );
        let both = ReplyBody::parse(br#"{"id":3,"result":1,"error":{}}"#).unwrap();
        assert_eq!(both.outcome().unwrap_err(), ReplyError::ResultXorError);
        let neither = ReplyBody::parse(br#"{"id":3}"#).unwrap();
        assert_eq!(neither.outcome().unwrap_err(), ReplyError::ResultXorError);
        let bad = ReplyBody::parse(br#"{"id":3,"error":"boom"}"#).unwrap();
        assert!(matches!(bad.outcome(), Err(ReplyError::BadErrorObject(_))));
        assert!(matches!(
            ReplyBody::parse(b"[]"),
            Err(ReplyError::NotObject(_))
        ));
        assert!(matches!(
            ReplyBody::parse(b"\xff"),
            Err(ReplyError::NotJson(_))
        ));
        assert!(matches!(
            ReplyBody::parse(br#"{"id":1} trailing"#),
            Err(ReplyError::NotJson(_))
        ));
    }

    /// Reading a reply builds only some members; it must accept exactly
    /// the bodies a full parse accepts, and its object must be that parse.
    #[test]
    fn reading_agrees_with_a_full_parse() {
        let bodies: &[&[u8]] = &[
            br#"{"id":1,"result":"x"}"#,
            br#"{"jsonrpc":"2.0","result":[1,{"a":null}],"id":"s"}"#,
            br#"{"\u0069d":7,"r\u0065sult":true}"#,
            br#"{"id":1,"result":1,"result":2,"extra":{"deep":[[[]]]}}"#,
            br#"{"id":1,"error":{"code":-32601,"message":"no"},"data":1}"#,
            br#"{"id":1,"result":0,"x":1e400}"#,
            br#"{"id":1e400,"result":0}"#,
            br#"{"id":1,"result":0,"x":"\ud800"}"#,
            br#"{"id":1,"result":"\ud800"}"#,
            b"{\"id\":1,\"result\":0,\"x\":\"\xff\"}",
            br#"{"id":1,"result":0,"$serde_json::private::RawValue":"1"}"#,
            br#"{"id":1,"result":0"#,
            // The shape read without the visitor, and texts close to it.
            br#"{"id":0,"result":"x"}"#,
            br#"{"id":18446744073709551615,"result":null}"#,
            br#"{"id":123456789012345678901,"result":1}"#,
            br#"{"id":01,"result":1}"#,
            br#"{"id":1,"result":1}}"#,
            br#"{"id":1,"result":1} "#,
            br#"{"id":1,"result":1 }"#,
            br#"{"id":1,"result":}"#,
            br#"{"id":1,"result":"a"#,
            br#"{"id":1,"result":1,"x":2}"#,
            br#"{"id":1,"result":tru}"#,
            br#"{"id":1,"result":nullx}"#,
            br#"{"id":1,"result":-0.5e3}"#,
            br#"{"id":1,"result":1e400}"#,
            br#"{"id":1,"result":"x"}]"#,
            "{\"id\":1,\"result\":\"é ☃ 𝄞 \u{7f}\"}".as_bytes(),
            br#"{"id":1,"result":""}"#,
            br#"{"id":1,"result":"a\u0041\"b"}"#,
            br#"{"id":1,"result":"\\"}"#,
            b"{\"id\":1,\"result\":\"\xc3\"}",
            b"{\"id\":1,\"result\":\"a\"x}",
            br#"{"id":1,"result":"A
"}"#,
        ];
        // The same bodies past the size kept for a lazy map: read whole.
        let pad = " ".repeat(ReplyBody::LAZY_MAX);
        let padded: Vec<Vec<u8>> = bodies
            .iter()
            .map(|b| [b, pad.as_bytes()].concat())
            .collect();
        let bodies = bodies
            .iter()
            .copied()
            .chain(padded.iter().map(Vec::as_slice));
        for body in bodies {
            let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
            let full = serde_json::from_slice::<Map<String, Value>>(body);
            match ReplyBody::parse(body) {
                Ok(reply) => {
                    let full = full.unwrap_or_else(|e| panic!("{text}: read, yet {e}"));
                    assert_eq!(reply.object(), &full, "{text}");
                    let order: Vec<_> = reply.object().keys().collect();
                    assert_eq!(order, full.keys().collect::<Vec<_>>(), "{text}");
                    assert_eq!(reply.result(), full.get("result"), "{text}");
                    assert_eq!(reply.clone().into_object(), full, "{text}");
                }
                Err(_) => assert!(
                    full.is_err() || text.contains("$serde_json"),
                    "{text}: refused, yet a full parse accepts it"
                ),
            }
        }
    }

    #[test]
    fn the_id_keeps_its_exact_text() {
        for id in [
            "7",
            "1.50",
            "123456789012345678901234567890",
            "\"7\"",
            "null",
            "[1]",
        ] {
            let body = format!(r#"{{"result":0, "id" : {id} }}"#);
            let reply = ReplyBody::parse(body.as_bytes()).unwrap();
            assert_eq!(reply.id().map(Id::json), Some(id), "{body}");
            assert_eq!(reply.object()["result"], json!(0));
        }
        let push = ReplyBody::parse(br#"{"method":"tick"}"#).unwrap();
        assert_eq!(push.id(), None);
        let last = ReplyBody::parse(br#"{"id":1,"id":2,"result":0}"#).unwrap();
        assert_eq!(last.counter_id(), Some(2));
        assert_eq!(last.object()["id"], json!(2));
    }
}
