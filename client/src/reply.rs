//! [`Reply`]: the whole reply object of an rpc request.

use std::ops::Index;

use serde_json::{Map, Value};

use crate::protocol::{Id, ReplyBody};

/// A successful reply: the whole object the server sent, as SocketStream's
/// callbacks received it (`response.result` in the seed is
/// `reply.result()` here), and the id it answered as its exact text.
///
/// `result` is read with the reply; the map of every member is built when
/// first asked for ([`Reply::object`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    id: Id,
    body: ReplyBody,
}

impl Reply {
    /// The body it was read from (see [`ReplyBody::kept_body`]).
    pub(crate) fn kept_body(&self) -> Option<&bytes::Bytes> {
        self.body.kept_body()
    }

    /// A reply whose `id` was matched to a request (taken out of `body`).
    pub(crate) fn new(id: Id, body: ReplyBody) -> Reply {
        Reply { id, body }
    }

    /// The `result` member (`Value::Null` on an error reply).
    pub fn result(&self) -> &Value {
        self.body.result().unwrap_or(&Value::Null)
    }

    /// The id of the request this reply answers, as the server sent it;
    /// [`Id::as_u64`] gives the plug's counter value.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The whole reply object.
    pub fn object(&self) -> &Map<String, Value> {
        self.body.object()
    }

    /// The whole reply object as a `Value`.
    pub fn into_value(self) -> Value {
        Value::Object(self.body.into_object())
    }

    /// The `result` member, by value.
    pub fn into_result(self) -> Value {
        self.body.into_result().unwrap_or(Value::Null)
    }
}

impl Index<&str> for Reply {
    type Output = Value;
    /// `reply["result"]`, `reply["id"]`; `Value::Null` when absent.
    fn index(&self, key: &str) -> &Value {
        if key == "result" {
            return self.result();
        }
        self.object().get(key).unwrap_or(&Value::Null)
    }
}
