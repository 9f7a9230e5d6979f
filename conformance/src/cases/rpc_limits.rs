//! `rpc.limits.*`: below the floors of §8.1-b (64 KiB) and §8.2-a (16
//! requests in flight) a server never answers -32001 or -32002; above them
//! it may, with the request's id (§5.5-i, §5.5-j).

use super::case;
use crate::case::{Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{call_optional, Request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.limits.size-floor",
            Rpc,
            Must,
            &["8.1-b", "5.3-d"],
            "a request of exactly 64 KiB is served, not refused with -32001",
            size_floor,
        )
        .on(&[Success, Bare]),
        case(
            "rpc.limits.in-flight-floor",
            Rpc,
            Must,
            &["8.2-a", "5.3-d", "6.3-a"],
            "16 `sleep` requests in flight at once all get their result, none -32002",
            |c| sleeps(c, 16),
        )
        .on(&[Deferred, Bare]),
        case(
            "rpc.limits.in-flight-above",
            Rpc,
            Must,
            &["5.5-j", "5.5-l", "8.2-b", "5.3-d", "6.3-a"],
            "64 `sleep` requests in flight at once: each gets its result, or -32002 with its id",
            |c| sleeps(c, 64),
        )
        .on(&[Deferred, Error, Bare]),
    ]
}

fn size_floor(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let head = br#"{"id":1,"method":"ping","pad":""#;
    let mut body = head.to_vec();
    body.resize(64 * 1024 - 2, b'p');
    body.extend_from_slice(b"\"}");
    debug_assert_eq!(body.len(), 64 * 1024);
    conn.call(&Request::text(body, "1"))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn sleeps(ctx: &Ctx, n: usize) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    call_optional(
        &conn,
        &Request::with_params("0", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    let tickets: Vec<_> = (1..=n)
        .map(|i| {
            conn.send(&Request::with_params(
                &i.to_string(),
                "sleep",
                r#"{"ms":200}"#,
            ))
        })
        .collect::<Step<_>>()?;
    let wait = ctx.timeout + std::time::Duration::from_millis(200);
    let mut limited = 0;
    for t in tickets {
        let reply = conn.wait_within(t, wait)?;
        if reply.limited {
            limited += 1;
        } else if reply.result_value() != Some(serde_json::json!({"ms": 200})) {
            return Err(crate::case::fail(
                "the result {\"ms\": 200} (§6.3-a)",
                reply.short(),
            ));
        }
    }
    if limited > 0 {
        ctx.notes.detail(format!(
            "{limited} of {n} got -32002 with their id, all beyond the first 16 (allowed)"
        ));
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}
