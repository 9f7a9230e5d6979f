//! The error object of a reply (PROTOCOL.md §5.3, §5.5).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Error codes with a meaning in PROTOCOL.md §5.5.
pub mod codes {
    /// The body is not valid UTF-8 or not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON that is not a valid request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The server has no such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The method exists but its parameters are wrong.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The handler failed.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The message is larger than the server accepts (§8.1).
    pub const TOO_LARGE: i64 = -32001;
    /// The peer has too many requests in flight (§8.2).
    pub const OVERLOADED: i64 = -32002;
    /// The server is shutting down and did not run the request (§8.5): a
    /// plug may send it to another server.
    pub const SHUTTING_DOWN: i64 = -32003;
}

/// `{"code": ..., "message": ..., "data": ...}`, the `error` member of a reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// A code from [`codes`] or an application code.
    pub code: i64,
    /// One line for a person to read.
    pub message: String,
    /// Anything else the server wants to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error object with no `data`.
    pub fn new(code: i64, message: impl Into<String>) -> ErrorObject {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data` attached.
    pub fn with_data(mut self, data: Value) -> ErrorObject {
        self.data = Some(data);
        self
    }

    /// -32700.
    pub fn parse_error(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(codes::PARSE_ERROR, format!("parse error: {detail}"))
    }

    /// -32600.
    pub fn invalid_request(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(codes::INVALID_REQUEST, format!("invalid request: {detail}"))
    }

    /// -32601, naming the method.
    pub fn method_not_found(method: &str) -> ErrorObject {
        ErrorObject::new(
            codes::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )
    }

    /// -32602.
    pub fn invalid_params(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(codes::INVALID_PARAMS, format!("invalid params: {detail}"))
    }

    /// -32603.
    pub fn internal(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(codes::INTERNAL_ERROR, format!("internal error: {detail}"))
    }

    /// -32001.
    pub fn too_large(size: usize, limit: usize) -> ErrorObject {
        ErrorObject::new(
            codes::TOO_LARGE,
            format!("message of {size} bytes is larger than the limit of {limit} bytes"),
        )
        .with_data(serde_json::json!({ "size": size, "limit": limit }))
    }

    /// -32002.
    pub fn overloaded(limit: usize) -> ErrorObject {
        ErrorObject::new(
            codes::OVERLOADED,
            format!("too many requests in flight from this peer (limit {limit})"),
        )
        .with_data(serde_json::json!({ "limit": limit }))
    }
}

impl ErrorObject {
    /// -32003.
    pub fn shutting_down() -> ErrorObject {
        ErrorObject::new(
            codes::SHUTTING_DOWN,
            "the server is shutting down; the request was not run",
        )
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}
