//! What a rpc-mode server calls for each request.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::{Envelope, ErrorObject, Request};

use super::Outbox;

/// One request as a handler sees it.
#[derive(Debug)]
pub struct Call {
    /// The parsed request; `request.id` is `None` for a notification, whose
    /// outcome is not sent anywhere.
    pub request: Request,
    /// Who sent it: keep a clone to push messages to that peer later with
    /// [`Outbox::send`] or [`Outbox::try_send`].
    pub envelope: Envelope,
    /// The server's outgoing side, for pushes.
    pub outbox: Outbox,
}

impl Call {
    /// The `method` member, or the -32600 error for a missing or non-string
    /// one.
    pub fn method(&self) -> Result<&str, ErrorObject> {
        self.request.method()
    }

    /// The `params` member (`null` when absent).
    pub fn params(&self) -> &Value {
        self.request.params()
    }

    /// Takes the `params` member out of the request (`null` when absent).
    pub fn take_params(&mut self) -> Value {
        self.request.object.remove("params").unwrap_or(Value::Null)
    }
}

/// The lower-level handler: gets every request, whatever its method.
///
/// The result becomes `{"id": ..., "result": ...}` and the error
/// `{"id": ..., "error": ...}`; for a notification both are dropped. A
/// call runs on the receiving task until it first waits (an answer at once
/// costs no task), then in a task of its own, so a call that waits holds up
/// no other request; a call that computes for long without an `.await`
/// holds up the requests behind it and belongs in
/// `tokio::task::spawn_blocking`. A panic is answered with -32603.
///
/// Most servers register functions by name with [`Methods`](super::Methods)
/// instead of implementing this.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, call: Call) -> impl Future<Output = Result<Value, ErrorObject>> + Send;
}

/// Reads `params` as `T`, or the -32602 error naming what is wrong.
///
/// # Examples
///
/// ```
/// #[derive(Debug, serde::Deserialize)]
/// struct Sleep { ms: u64 }
/// let p: Sleep = plug::server::parse_params(serde_json::json!({"ms": 5})).unwrap();
/// assert_eq!(p.ms, 5);
/// let e = plug::server::parse_params::<Sleep>(serde_json::json!("x")).unwrap_err();
/// assert_eq!(e.code, plug::protocol::codes::INVALID_PARAMS);
/// ```
pub fn parse_params<T: DeserializeOwned>(params: Value) -> Result<T, ErrorObject> {
    serde_json::from_value(params).map_err(ErrorObject::invalid_params)
}

/// What a caught panic said, for the log and the -32603 message.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "handler panicked".to_owned())
}
