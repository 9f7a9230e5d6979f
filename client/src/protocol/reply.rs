//! Replies in rpc mode (PROTOCOL.md §5.3, §7.3).

use serde::{Deserialize, Serialize};
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
/// SocketStream received it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyBody {
    object: Map<String, Value>,
}

impl ReplyBody {
    /// Parses a reply body; the id and outcome are checked separately so a
    /// broken reply can still be matched to its request.
    pub fn parse(bytes: &[u8]) -> Result<ReplyBody, ReplyError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(object)) => Ok(ReplyBody { object }),
            Ok(other) => Err(ReplyError::NotObject(kind_of(&other))),
            Err(e) => Err(ReplyError::NotJson(e.to_string())),
        }
    }

    /// The id as an integer from the plug's counter, if it is one.
    pub fn counter_id(&self) -> Option<u64> {
        self.object.get("id").and_then(Value::as_u64)
    }

    /// The `id` member.
    pub fn id(&self) -> Option<&Value> {
        self.object.get("id")
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

    /// The whole reply object.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The whole reply object, by value.
    pub fn into_object(self) -> Map<String, Value> {
        self.object
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
        let out = encode_result(req.id.as_ref(), req.is_jsonrpc(), &json!({"ok": true}));
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
    }
}
