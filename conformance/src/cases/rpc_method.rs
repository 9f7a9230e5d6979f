//! `rpc.method.*`: the optional methods of §6 do what they say when present.

use std::time::{Duration, Instant};

use plug::protocol::codes;
use serde_json::{json, Value};

use super::case;
use crate::case::{ensure, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{call_optional, check_error_code, request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.method.ping",
            Rpc,
            May,
            "6.1",
            "`ping` answers the result \"pong\"",
            ping,
        ),
        case(
            "rpc.method.echo-no-params",
            Rpc,
            May,
            "6.2",
            "`echo` without params answers null",
            echo_no_params,
        ),
        case(
            "rpc.method.sleep",
            Rpc,
            May,
            "6.3",
            "`sleep` {\"ms\": 200} answers {\"ms\": 200} after at least 200 ms",
            sleep,
        ),
        case(
            "rpc.method.sleep-bad-params",
            Rpc,
            May,
            "6.3",
            "`sleep` with params other than {\"ms\": 0..60000} answers -32602",
            sleep_bad_params,
        ),
    ]
}

fn ping(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = call_optional(&conn, &request("1", "ping", None), "ping")?;
    ensure(
        reply.result() == Some(&json!("pong")),
        "the result \"pong\"",
        || reply.short(),
    )?;
    Ok(Verdict::Pass)
}

fn echo_no_params(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = call_optional(&conn, &request("1", "echo", None), "echo")?;
    ensure(
        reply.result() == Some(&Value::Null),
        "the result null",
        || reply.short(),
    )?;
    Ok(Verdict::Pass)
}

fn sleep(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let start = Instant::now();
    let reply = call_optional(
        &conn,
        &request("1", "sleep", Some(&json!({"ms": 200}))),
        "sleep",
    )?;
    let took = start.elapsed();
    ensure(
        reply.result() == Some(&json!({"ms": 200})),
        "the result {\"ms\": 200}",
        || reply.short(),
    )?;
    ensure(
        took >= Duration::from_millis(200),
        "the reply after at least 200 ms",
        || format!("the reply after {} ms", took.as_millis()),
    )?;
    Ok(Verdict::Pass)
}

fn sleep_bad_params(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    // Probe first so an absent `sleep` is `unimplemented`, not a failure.
    call_optional(
        &conn,
        &request("0", "sleep", Some(&json!({"ms": 0}))),
        "sleep",
    )?;
    let bad = [
        json!({"ms": -1}),
        json!({"ms": 60001}),
        json!({"ms": "10"}),
        json!([10]),
        json!({}),
    ];
    for (i, params) in bad.iter().enumerate() {
        let reply = conn.call(&request(&(i + 1).to_string(), "sleep", Some(params)))?;
        check_error_code(
            &reply,
            codes::INVALID_PARAMS,
            &format!("invalid params {params}"),
        )?;
    }
    Ok(Verdict::Pass)
}
