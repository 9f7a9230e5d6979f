//! `rpc.reply.*`: the shape of a reply (§5.3).

use serde_json::Value;

use super::case;
use crate::case::{ensure, fail, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.reply.one-of-result-error",
            Rpc,
            Must,
            "5.3",
            "replies carry exactly one of `result` and a valid `error` object",
            shape,
        ),
        case(
            "rpc.reply.jsonrpc-copied",
            Rpc,
            Should,
            "5.3",
            "a request with \"jsonrpc\": \"2.0\" gets it back in the reply",
            jsonrpc,
        ),
    ]
}

fn shape(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for (id, method) in [("1", "ping"), ("2", "plug.conformance.no-such-method")] {
        let reply = conn.call(&request(id, method, None))?;
        let _shape = reply.body.outcome().map_err(|e| {
            fail(
                "exactly one of `result` and `error`, the error being {code: integer, message: string, data?} (§5.3)",
                format!("{e}: {}", reply.short()),
            )
        })?;
    }
    Ok(Verdict::Pass)
}

fn jsonrpc(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = conn.call(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)?;
    ensure(
        reply.body.object().get("jsonrpc") == Some(&Value::from("2.0")),
        "\"jsonrpc\": \"2.0\" in the reply",
        || reply.short(),
    )?;
    Ok(Verdict::Pass)
}
