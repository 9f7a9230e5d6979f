//! [`Reply`]: the whole reply object of an rpc request.

use std::ops::Index;

use serde_json::{Map, Value};

use crate::protocol::ReplyBody;

/// A successful reply: the whole object the server sent, as SocketStream's
/// callbacks received it (`response.result` in the seed is
/// `reply.result()` here).
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    body: ReplyBody,
}

impl Reply {
    pub(crate) fn new(body: ReplyBody) -> Reply {
        Reply { body }
    }

    /// The `result` member (`Value::Null` on an error reply).
    pub fn result(&self) -> &Value {
        self.body.object().get("result").unwrap_or(&Value::Null)
    }

    /// The request id this reply answers.
    pub fn id(&self) -> u64 {
        self.body.counter_id().unwrap_or_default()
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
        let mut obj = self.body.into_object();
        obj.remove("result").unwrap_or(Value::Null)
    }
}

impl Index<&str> for Reply {
    type Output = Value;
    /// `reply["result"]`, `reply["id"]`; `Value::Null` when absent.
    fn index(&self, key: &str) -> &Value {
        self.body.object().get(key).unwrap_or(&Value::Null)
    }
}
