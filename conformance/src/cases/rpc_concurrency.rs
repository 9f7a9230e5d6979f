//! `rpc.concurrency.*`: replies matched by id under load, from many peers
//! (§5.6, §2.4, §2.5).

use std::collections::HashSet;
use std::time::Duration;

use plug::protocol::codes;
use serde_json::json;

use super::case;
use crate::case::{ensure, fail, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{call_optional, counter_request, request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case("rpc.concurrency.pipelined", Rpc, Must, "5.6", "500 requests sent before reading get 500 replies, each id once", pipelined),
        case("rpc.concurrency.out-of-order", Rpc, Should, "5.6", "a slow `sleep` does not hold up a later request", out_of_order),
        case("rpc.concurrency.clients", Rpc, Must, "2.5", "8 clients at once each receive only their own 250 replies", clients).slow(10),
        case("rpc.concurrency.many", Rpc, Must, "5.6", "20000 requests, up to 500 in flight: every one answered exactly once", many).slow(60),
        case("rpc.concurrency.burst", Rpc, Should, "2.4", "5000 requests sent at once with no reading: none lost (ROUTER_MANDATORY), -32002 allowed", burst).slow(20),
    ]
}

/// Receives until every id in `want` has been answered exactly once.
fn collect(conn: &RpcConn, mut want: HashSet<u64>, allow_overloaded: bool) -> Step<()> {
    let total = want.len();
    while !want.is_empty() {
        let expected = format!("replies to all {total} requests");
        let Some(reply) = conn.recv_reply_within(conn.conn.timeout())? else {
            return Err(fail(
                expected,
                format!(
                    "{} replies missing after waiting {} ms; e.g. id {}",
                    want.len(),
                    conn.conn.timeout().as_millis(),
                    want.iter().min().copied().unwrap_or_default()
                ),
            ));
        };
        let id = reply.body.counter_id();
        match id {
            Some(id) if want.remove(&id) => {}
            _ => {
                return Err(fail(
                    format!("only replies to this client's own requests, each once ({total} sent)"),
                    format!("an unexpected or repeated reply: {}", reply.short()),
                ))
            }
        }
        if let Some(e) = reply.error() {
            let ok = e.code == codes::METHOD_NOT_FOUND
                || (allow_overloaded && e.code == codes::OVERLOADED);
            ensure(
                ok,
                "a reply to `ping` (result, -32601, or -32002 for a burst)",
                || reply.short(),
            )?;
        }
    }
    Ok(())
}

fn pipelined(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for id in 1..=500 {
        conn.send(&counter_request(id, "ping", None))?;
    }
    collect(&conn, (1..=500).collect(), false)?;
    Ok(Verdict::Pass)
}

fn out_of_order(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    call_optional(
        &conn,
        &request("0", "sleep", Some(&json!({"ms": 0}))),
        "sleep",
    )?;
    let ms = 1500u64.min(ctx.timeout.as_millis() as u64 * 2 / 3);
    conn.send(&request("\"slow\"", "sleep", Some(&json!({ "ms": ms }))))?;
    conn.send(&request("\"fast\"", "sleep", Some(&json!({"ms": 0}))))?;
    let first = conn.recv_reply("two replies")?;
    let second = conn.recv_reply("two replies")?;
    ensure(
        first.id_text() == "\"fast\"" && second.id_text() == "\"slow\"",
        format!("the reply to sleep 0 before the reply to sleep {ms} sent before it"),
        || {
            format!(
                "replies in the order {}, {}",
                first.id_text(),
                second.id_text()
            )
        },
    )?;
    Ok(Verdict::Pass)
}

fn clients(ctx: &Ctx) -> Step<Verdict> {
    let conns: Vec<RpcConn> = (0..8)
        .map(|i| RpcConn::bare(ctx, ["A", "B", "C", "D", "E", "F", "G", "H"][i]))
        .collect::<Step<_>>()?;
    let per = 250u64;
    let ids = |k: u64| (k * 10_000 + 1)..=(k * 10_000 + per);
    for round in 0..per {
        for (k, conn) in conns.iter().enumerate() {
            conn.send(&counter_request(
                k as u64 * 10_000 + 1 + round,
                "ping",
                None,
            ))?;
        }
    }
    for (k, conn) in conns.iter().enumerate() {
        collect(conn, ids(k as u64).collect(), false)?;
    }
    Ok(Verdict::Pass)
}

fn many(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let total = 20_000u64;
    let window = 500u64;
    let mut want: HashSet<u64> = HashSet::new();
    let mut next = 1u64;
    let mut done = 0u64;
    conn.conn.note(format!(
        "sending {total} requests, at most {window} in flight"
    ));
    while done < total {
        while next <= total && want.len() < window as usize {
            conn.send(&counter_request(next, "ping", None))?;
            want.insert(next);
            next += 1;
        }
        let Some(reply) = conn.recv_reply_within(ctx.timeout)? else {
            return Err(fail(
                format!("replies to all {total} requests"),
                format!(
                    "{} answered, {} in flight unanswered after {} ms",
                    done,
                    want.len(),
                    ctx.timeout.as_millis()
                ),
            ));
        };
        match reply.body.counter_id() {
            Some(id) if want.remove(&id) => done += 1,
            _ => {
                return Err(fail(
                    "each request answered exactly once",
                    format!("an unexpected or repeated reply: {}", reply.short()),
                ))
            }
        }
    }
    Ok(Verdict::Pass)
}

fn burst(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for id in 1..=5000 {
        conn.send(&counter_request(id, "ping", None))?;
    }
    conn.conn.note("sent 5000 requests; reading after 500 ms");
    std::thread::sleep(Duration::from_millis(500));
    collect(&conn, (1..=5000).collect(), true)?;
    Ok(Verdict::Pass)
}
