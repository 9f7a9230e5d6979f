//! [`Methods`]: handlers registered by method name.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde_json::Value;

use crate::protocol::ErrorObject;

use super::{Call, Handler};

type Boxed = Arc<dyn Fn(Call) -> BoxFuture<'static, Result<Value, ErrorObject>> + Send + Sync>;

/// A [`Handler`] that dispatches on the request's `method`.
///
/// A request without a string `method` gets -32600 and an unknown method
/// -32601 (PROTOCOL.md §5.5).
///
/// # Examples
///
/// ```
/// use plug::server::Methods;
/// use serde_json::{json, Value};
///
/// let methods = Methods::new()
///     .method("ping", |_params: Value| async { Ok(json!("pong")) })
///     .method("echo", |params: Value| async move { Ok(params) });
/// assert!(methods.contains("echo"));
/// ```
#[derive(Clone, Default)]
pub struct Methods {
    /// Looked up for every request. Only the server's own names are keys,
    /// so a peer cannot fill it with colliding ones: a fast hash will do.
    table: HashMap<String, Boxed, foldhash::fast::RandomState>,
}

impl Methods {
    /// No methods yet.
    pub fn new() -> Methods {
        Methods::default()
    }

    /// Registers `f` for `name`; it gets the request's `params` (`null`
    /// when absent). A later registration of the same name replaces it.
    pub fn method<F, Fut>(self, name: &str, f: F) -> Methods
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ErrorObject>> + Send + 'static,
    {
        self.method_with_call(name, move |mut call: Call| f(call.take_params()))
    }

    /// Registers `f` for `name`; it gets the whole [`Call`]: every member
    /// of the request, the sender's envelope and the outbox for pushes.
    pub fn method_with_call<F, Fut>(mut self, name: &str, f: F) -> Methods
    where
        F: Fn(Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ErrorObject>> + Send + 'static,
    {
        let boxed: Boxed = Arc::new(move |call| f(call).boxed());
        self.table.insert(name.to_owned(), boxed);
        self
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.table.contains_key(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.table.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Methods")
            .field("names", &self.names())
            .finish()
    }
}

impl Handler for Methods {
    /// Looks the method up and calls it at once: the future returned is
    /// the registered function's own (boxed at registration), so the
    /// request is not held twice while it runs.
    fn call(&self, call: Call) -> impl Future<Output = Result<Value, ErrorObject>> + Send {
        let found = match call.method() {
            Ok(name) => match self.table.get(name) {
                Some(f) => Ok(f),
                None => Err(ErrorObject::method_not_found(name)),
            },
            Err(e) => Err(e),
        };
        match found {
            Ok(f) => f(call),
            // Boxed too, so the future is one pointer: errors are rare.
            Err(e) => std::future::ready(Err(e)).boxed(),
        }
    }
}
