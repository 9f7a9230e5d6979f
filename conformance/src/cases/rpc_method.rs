//! `rpc.method.*`: the optional methods of §6 do what they say when present.

use std::time::{Duration, Instant};

use super::case;
use crate::case::{ensure, Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{call_optional, check_code, Request, RpcConn, INVALID_PARAMS};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.method.ping",
            Rpc,
            May,
            &["6.1-a"],
            "`ping` answers the result \"pong\"",
            ping,
        )
        .on(&[Success, Bare]),
        case(
            "rpc.method.echo-no-params",
            Rpc,
            May,
            &["6.2-a"],
            "`echo` without params answers null",
            echo_no_params,
        )
        .on(&[Success, Bare]),
        case(
            "rpc.method.sleep",
            Rpc,
            May,
            &["6.3-a"],
            "`sleep` {\"ms\": 200} answers {\"ms\": 200} after at least 200 ms",
            sleep,
        )
        .on(&[Deferred, Bare]),
        case(
            "rpc.method.sleep-bad-params",
            Rpc,
            May,
            &["6.3-b", "5.5-g", "5.2-a"],
            "`sleep` with params other than {\"ms\": 0..60000} answers -32602 with the id",
            sleep_bad_params,
        )
        .on(&[Error, Bare]),
    ]
}

fn ping(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = call_optional(&conn, &Request::call("1", "ping"), "ping")?;
    ensure(
        reply.result.as_deref() == Some("\"pong\""),
        "the result \"pong\" (§6.1-a)",
        || reply.short(),
    )?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn echo_no_params(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = call_optional(&conn, &Request::call("1", "echo"), "echo")?;
    ensure(
        reply.result.as_deref() == Some("null"),
        "the result null (§6.2-a)",
        || reply.short(),
    )?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// How much earlier than asked a `sleep` reply may come.
const SLEEP_SLACK: Duration = Duration::from_millis(2);

fn sleep(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let zero = call_optional(
        &conn,
        &Request::with_params("0", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    ensure(
        zero.result_value() == Some(serde_json::json!({"ms": 0})),
        "the result {\"ms\": 0} for `sleep` {\"ms\": 0} (§6.3-a: n from 0)",
        || zero.short(),
    )?;
    let start = Instant::now();
    let t = conn.send(&Request::with_params("1", "sleep", r#"{"ms":200}"#))?;
    let reply = conn.wait_within(t, ctx.timeout + Duration::from_millis(200))?;
    let took = start.elapsed();
    ensure(
        reply.result_value() == Some(serde_json::json!({"ms": 200})),
        "the result {\"ms\": 200} (§6.3-a)",
        || reply.short(),
    )?;
    // Event loops that keep time in whole milliseconds (libuv, so
    // Node.js) start a timer from a clock read up to a millisecond earlier,
    // and fire it up to that much early; 2 ms of slack keeps them correct.
    ensure(
        took + SLEEP_SLACK >= Duration::from_millis(200),
        "the reply after at least 200 ms (§6.3-a; 2 ms early is tolerated)",
        || format!("the reply after {} ms", took.as_millis()),
    )?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn sleep_bad_params(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    // Probe first so an absent `sleep` is `unimplemented`, not a failure.
    call_optional(
        &conn,
        &Request::with_params("0", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    let bad = [
        r#"{"ms":-1}"#,
        r#"{"ms":60001}"#,
        r#"{"ms":"10"}"#,
        r#"{"ms":1.5}"#,
        "[10]",
        "{}",
    ];
    for (i, params) in bad.iter().enumerate() {
        let id = format!("\"bad-{}\"", i + 1);
        let reply = conn.call(&Request::with_params(&id, "sleep", params))?;
        check_code(&reply, INVALID_PARAMS, &format!("§6.3-b: params {params}"))?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}
