//! `rpc.notification.*`: a request without `id` gets no reply, even when it
//! fails (§5.4-a); an object without `id` and without a usable `method`
//! may get -32600 with id null, or nothing (§5.4-c).

use std::time::Duration;

use super::case;
use crate::case::{fail, Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{Expect, Request, RpcConn, Style, INVALID_REQUEST};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.notification.no-reply",
            Rpc,
            Must,
            &["5.4-a", "5.3-d", "7.1-b"],
            "notifications get no reply: calls, unknown methods, bad params, later replies",
            |c| notifications(c, Style::Bare),
        )
        .on(&[Bare, Success, Error, Deferred]),
        case(
            "rpc.notification.delimited",
            Rpc,
            Must,
            &["5.4-a", "5.3-d"],
            "notifications from a delimited client get no reply either",
            |c| notifications(c, Style::Delimited),
        )
        .on(&[Delimited, Success, Error]),
        case(
            "rpc.notification.invalid",
            Rpc,
            May,
            &["5.4-c", "5.4-a"],
            "an object with no id and no string method gets -32600 with id null, or nothing",
            invalid,
        )
        .on(&[Error, Bare]),
    ]
}

const NOTIFICATIONS: &[&[u8]] = &[
    br#"{"method":"ping"}"#,
    br#"{"method":"echo","params":{"x":1}}"#,
    br#"{"jsonrpc":"2.0","method":"plug.conformance.no-such-method","params":[1]}"#,
    br#"{"method":"plug.conformance.no-such-method"}"#,
    br#"{"method":"sleep","params":{"ms":"not a number"}}"#,
    br#"{"method":"sleep","params":{"ms":5}}"#,
    // An `id` inside params is not the request's id.
    br#"{"method":"ping","params":{"id":1}}"#,
    br#"{"params":{"id":"inner"},"method":"ping"}"#,
];

/// Sends the notifications, waits a little, then the sentinel: nothing but
/// pushes may arrive before its reply.
fn notifications(ctx: &Ctx, style: Style) -> Step<Verdict> {
    let conn = RpcConn::dealer(ctx, "A", style)?;
    for n in NOTIFICATIONS {
        conn.send(&Request::notification(*n))?;
    }
    let grace = Duration::from_millis(300).min(ctx.timeout);
    conn.conn.note(format!(
        "waiting {} ms for replies that must not come",
        grace.as_millis()
    ));
    conn.quiet(grace)?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn invalid(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let bodies: [&[u8]; 3] = [br#"{"method":5}"#, b"{}", br#"{"params":[1]}"#];
    let tickets: Vec<_> = bodies
        .iter()
        .map(|b| conn.send(&Request::null_id(*b).expecting(Expect::MaybeNull)))
        .collect::<Step<_>>()?;
    conn.quiet(Duration::from_millis(300).min(ctx.timeout))?;
    let mut answered = 0;
    for t in tickets {
        if let Some(reply) = conn.poll(t)? {
            answered += 1;
            if reply.code() != Some(INVALID_REQUEST) {
                return Err(fail(
                    "nothing, or -32600 with id null (§5.4-c)",
                    reply.short(),
                ));
            }
        }
    }
    conn.finish()?;
    ctx.notes.detail(format!(
        "{answered} of 3 invalid objects without id answered with -32600 (either is allowed)"
    ));
    Ok(Verdict::Pass)
}
