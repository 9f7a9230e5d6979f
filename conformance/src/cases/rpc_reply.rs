//! `rpc.reply.*`: the shape of a reply (§5.3). Every case judges every reply
//! it gets; these cases put the shape itself on each reply path.

use std::time::Duration;

use super::case;
use crate::case::{Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{Request, RpcConn, Style};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.reply.one-of-result-error",
            Rpc,
            Must,
            &["5.3-a", "5.3-b", "5.3-d", "7.1-b"],
            "success and error replies carry the id and exactly one of `result` and a valid `error`",
            shape,
        )
        .on(&[Success, Error, Bare]),
        case(
            "rpc.reply.exactly-one",
            Rpc,
            Must,
            &["5.3-d", "5.4-a", "5.3-a"],
            "a mix of calls, errors, replies sent later and notifications: one reply per request \
             with an id, no more",
            exactly_one,
        )
        .on(&[Success, Error, Deferred, Bare, Delimited]),
        case(
            "rpc.reply.jsonrpc-copied",
            Rpc,
            Should,
            &["5.3-c"],
            "\"jsonrpc\": \"2.0\" comes back on success, error and later replies",
            jsonrpc,
        )
        .on(&[Success, Error, Deferred]),
    ]
}

fn shape(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    conn.call(&Request::call("1", "ping"))?;
    conn.call(&Request::call("2", "plug.conformance.no-such-method"))?;
    conn.call(&Request::null_id(&b"{nope"[..]))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn exactly_one(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let mut tickets = Vec::new();
    for i in 0..4 {
        conn.set_style(if i % 2 == 0 {
            Style::Bare
        } else {
            Style::Delimited
        });
        tickets.push(conn.send(&Request::call(&format!("\"call-{i}\""), "ping"))?);
        tickets.push(conn.send(&Request::call(
            &format!("\"unknown-{i}\""),
            "plug.conformance.no-such-method",
        ))?);
        conn.send(&Request::notification(&br#"{"method":"ping"}"#[..]))?;
        tickets.push(conn.send(&Request::null_id(&b"not json"[..]))?);
        // A reply sent later (or -32601 without `sleep`): a timer that
        // fires again would send it twice.
        tickets.push(conn.send(&Request::with_params(
            &format!("\"later-{i}\""),
            "sleep",
            r#"{"ms":50}"#,
        ))?);
    }
    for t in tickets {
        conn.wait(t)?;
    }
    // Late second replies show up before the sentinel's reply: 200 ms is
    // four times the sleep.
    conn.quiet(Duration::from_millis(200).min(ctx.timeout))?;
    conn.set_style(Style::Bare);
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn jsonrpc(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    conn.call(&Request::text(
        &br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#[..],
        "1",
    ))?;
    conn.call(&Request::text(
        &br#"{"jsonrpc":"2.0","id":2,"method":"plug.conformance.no-such-method"}"#[..],
        "2",
    ))?;
    let sleep = conn.call(&Request::text(
        &br#"{"jsonrpc":"2.0","id":3,"method":"sleep","params":{"ms":10}}"#[..],
        "3",
    ))?;
    if sleep.is_method_not_found() {
        ctx.notes
            .detail("`sleep` is not implemented: the later-reply path was not checked");
    }
    conn.finish()?;
    // A reply without "jsonrpc" is recorded as a broken SHOULD by the judge.
    Ok(Verdict::Pass)
}
