//! Requests in rpc mode (PROTOCOL.md §5.1, §5.2, §5.4, §5.5).

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::ErrorObject;
use crate::Frame;

/// A request id exactly as it arrived: its JSON text.
///
/// The server copies this text into the reply, so the id keeps its type and
/// value whatever the JSON library would have done with it (§5.2): integers
/// beyond 64 bits and numbers like `1.50` come back as they were sent.
#[derive(Clone)]
pub struct Id(Box<RawValue>);

impl Id {
    /// An integer id, as the plug's counter makes them.
    pub fn from_u64(n: u64) -> Id {
        Id(RawValue::from_string(n.to_string()).expect("an integer is JSON"))
    }

    /// The id's JSON text, e.g. `7` or `"abc"`.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The id as a raw JSON value, for serializing it verbatim.
    pub fn raw(&self) -> &RawValue {
        &self.0
    }

    /// The id parsed as a `Value`. Numbers beyond what `Value` holds exactly
    /// may lose precision: use [`Id::json`] to compare or copy ids.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    fn from_value(v: &Value) -> Id {
        Id(serde_json::value::to_raw_value(v).expect("a JSON value serializes"))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.json())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.json() == other.json()
    }
}

/// A rpc-mode request as a server reads it.
#[derive(Debug)]
pub struct Request {
    /// The id to copy into the reply; `None` for a notification (§5.4).
    pub id: Option<Id>,
    /// Every member of the request object except `id`.
    pub object: Map<String, Value>,
}

impl Request {
    /// The `method` member, or the -32600 error that a dispatching server
    /// answers when it is missing or not a string (§5.5).
    pub fn method(&self) -> Result<&str, ErrorObject> {
        match self.object.get("method") {
            Some(Value::String(m)) => Ok(m),
            Some(_) => Err(ErrorObject::invalid_request("`method` must be a string")),
            None => Err(ErrorObject::invalid_request("missing `method`")),
        }
    }

    /// The `params` member, `Value::Null` when absent.
    pub fn params(&self) -> &Value {
        self.object.get("params").unwrap_or(&Value::Null)
    }

    /// Whether the request said `"jsonrpc": "2.0"`, which the reply copies.
    pub fn is_jsonrpc(&self) -> bool {
        self.object.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
    }

    /// A notification has no `id` and gets no reply.
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
}

/// Reads the body of a rpc-mode request (§5.1, §5.5).
///
/// On error, the returned object is what the server answers, with `"id":
/// null`: -32700 for a body that is not UTF-8 JSON, -32600 for anything
/// that is JSON but not a request.
pub fn parse_request(body: &[Frame]) -> Result<Request, ErrorObject> {
    let [frame] = body else {
        return Err(ErrorObject::invalid_request(format!(
            "the body must be exactly one frame, got {}",
            body.len()
        )));
    };
    let bytes: &[u8] = frame;
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) if std::str::from_utf8(bytes).is_err() => {
            return Err(ErrorObject::parse_error(format!("body is not UTF-8 ({e})")))
        }
        Err(e) => return Err(ErrorObject::parse_error(e)),
    };
    let Value::Object(mut object) = value else {
        return Err(ErrorObject::invalid_request(format!(
            "the body must be a JSON object, got {}",
            kind_of(&value)
        )));
    };
    let id = match object.remove("id") {
        None => None,
        Some(v @ (Value::String(_) | Value::Null)) => Some(Id::from_value(&v)),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Id(RawValue::from_string(
            n.to_string(),
        )
        .expect("a number is JSON"))),
        // A float or an integer too large for 64 bits: take the exact text.
        Some(Value::Number(_)) => {
            let raw: IdOnly = serde_json::from_slice(bytes)
                .map_err(|e| ErrorObject::parse_error(format!("id: {e}")))?;
            raw.id.map(|r| Id(r.to_owned()))
        }
        Some(other) => {
            return Err(ErrorObject::invalid_request(format!(
                "`id` must be a number, a string or null, got {}",
                kind_of(&other)
            )))
        }
    };
    Ok(Request { id, object })
}

/// The body of a request from the plug: `object` with `id` set to `id`.
/// Any `id` the caller put there is replaced, as SocketStream did.
pub fn encode_request(mut object: Map<String, Value>, id: Option<u64>) -> Vec<u8> {
    match id {
        Some(id) => {
            object.insert("id".to_owned(), Value::from(id));
        }
        None => {
            object.remove("id");
        }
    }
    serde_json::to_vec(&object).expect("a JSON map serializes")
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

/// What can be read of the id of a request that will not be parsed in full.
#[non_exhaustive]
pub enum Peeked {
    /// A JSON object without `id`: no reply.
    Notification,
    /// The id (`None` when unreadable, answered with `"id": null`) and
    /// whether the request said `"jsonrpc": "2.0"`.
    Id(Option<Id>, bool),
}

#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    jsonrpc: Option<&'a RawValue>,
}

// `Option<&RawValue>` alone reads `"id": null` as absent; a null id is not a
// notification (§5.4), so wrap whatever is there.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Reads only the `id` (and `jsonrpc`) of a body, skipping everything else
/// without building it: what a server needs to refuse a request it will not
/// parse in full (-32001, -32002). The id rules are
/// those of [`parse_request`], applied to the id alone.
pub fn peek_id(body: &[Frame]) -> Peeked {
    let [frame] = body else {
        return Peeked::Id(None, false);
    };
    // A derived struct also reads from a JSON array: insist on an object.
    let is_object = frame.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let Ok(head) = serde_json::from_slice::<IdOnly>(frame) else {
        return Peeked::Id(None, false);
    };
    if !is_object {
        return Peeked::Id(None, false);
    }
    let jsonrpc = head.jsonrpc.map(RawValue::get) == Some("\"2.0\"");
    let Some(raw) = head.id else {
        return Peeked::Notification;
    };
    let alone = format!("{{\"id\":{}}}", raw.get());
    match parse_request(&[Frame::from(alone)]) {
        Ok(req) => Peeked::Id(req.id, jsonrpc),
        Err(_) => Peeked::Id(None, jsonrpc),
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
            assert_eq!(req.id.as_ref().map(Id::json), Some(id), "id {id}");
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
