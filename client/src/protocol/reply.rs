//! Replies in rpc mode (PROTOCOL.md §5.3, §7.3): built by servers, read by
//! plugs.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::request::kind_of;
use super::{ErrorObject, Id};

#[derive(Serialize)]
struct Outgoing<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    jsonrpc: Option<&'static str>,
    id: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

fn encode(
    id: Option<&Id>,
    jsonrpc: bool,
    result: Option<&Value>,
    error: Option<&ErrorObject>,
) -> Vec<u8> {
    let out = Outgoing {
        jsonrpc: jsonrpc.then_some("2.0"),
        id: id.map_or(RawValue::NULL, Id::raw),
        result,
        error,
    };
    serde_json::to_vec(&out).expect("a reply serializes")
}

/// A success reply: `{"id": <id>, "result": <result>}`, with
/// `"jsonrpc": "2.0"` first when the request had it. `None` writes `"id": null`.
pub fn encode_result(id: Option<&Id>, jsonrpc: bool, result: &Value) -> Vec<u8> {
    encode(id, jsonrpc, Some(result), None)
}

/// An error reply: `{"id": <id>, "error": {...}}`.
pub fn encode_error(id: Option<&Id>, jsonrpc: bool, error: &ErrorObject) -> Vec<u8> {
    encode(id, jsonrpc, None, Some(error))
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

/// A reply body as the plug reads it: the whole object, as the callback of
/// SocketStream received it, and its `id` as the exact JSON text that came
/// back ([`Id`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyBody {
    id: Option<Id>,
    object: Map<String, Value>,
}

impl ReplyBody {
    /// Parses a reply body in one pass, keeping the id's exact text; the id
    /// and outcome are checked separately so a broken reply can still be
    /// matched to its request.
    pub fn parse(bytes: &[u8]) -> Result<ReplyBody, ReplyError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        match de.deserialize_map(BodyVisitor).and_then(|body| {
            de.end()?;
            Ok(body)
        }) {
            Ok(body) => Ok(body),
            // Only on the way to an error: tell a JSON value that is not an
            // object from something that is not JSON at all.
            Err(e) => match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(_)) | Err(_) => Err(ReplyError::NotJson(e.to_string())),
                Ok(other) => Err(ReplyError::NotObject(kind_of(&other))),
            },
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
        match (self.object.get("result"), self.object.get("error")) {
            (Some(r), None) => Ok(Ok(r)),
            (None, Some(e)) => ErrorObject::deserialize_from(e).map(Err),
            _ => Err(ReplyError::ResultXorError),
        }
    }

    /// The whole reply object, `id` included.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The whole reply object, by value.
    pub fn into_object(self) -> Map<String, Value> {
        self.object
    }

    /// The exact id and the whole object, by value.
    pub fn into_parts(self) -> (Option<Id>, Map<String, Value>) {
        (self.id, self.object)
    }
}

/// The map key serde_json uses to carry a `RawValue` through `Value`.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Builds a [`ReplyBody`] from a JSON object, reading the `id` member as raw
/// text on the way.
struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = ReplyBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<ReplyBody, A::Error> {
        // A reply has two or three members: room for them at once.
        let mut object = Map::with_capacity(4);
        let mut id = None;
        while let Some(key) = members.next_key::<String>()? {
            if key == RAW_VALUE_TOKEN {
                // serde_json's `Value` gives this key a meaning of its own;
                // refused here so a reply reads as `Value` would read it
                // (and as the server side reads a request).
                return Err(de::Error::custom("reserved key"));
            }
            if key == "id" {
                let raw: Box<RawValue> = members.next_value()?;
                // The id alone, a few bytes, for the object's `id` member.
                let value = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
                object.insert(key, value);
                id = Some(Id::from_raw(raw));
            } else {
                object.insert(key, members.next_value()?);
            }
        }
        Ok(ReplyBody { id, object })
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
