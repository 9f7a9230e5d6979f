//! `rpc.error.*`: bad requests get the error replies of §5.5, and
//! notifications get none (§5.4).

use std::thread::sleep;
use std::time::Duration;

use super::case;
use crate::case::{fail, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{check_error_code, check_id, expected_id, request, RpcConn};
use plug::protocol::codes;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.error.parse-error",
            Rpc,
            Must,
            "5.5",
            "a body that is not JSON gets id null and -32700",
            |c| {
                bad_body(
                    c,
                    &[br#"{"id":1,"method":"ping""#, b"{nope}", b"   "],
                    codes::PARSE_ERROR,
                )
            },
        ),
        case(
            "rpc.error.not-an-object",
            Rpc,
            Must,
            "5.5",
            "JSON that is not an object (array, number, string, batch) gets id null and -32600",
            |c| {
                bad_body(
                    c,
                    &[
                        b"[1,2,3]",
                        b"42",
                        br#""ping""#,
                        br#"[{"id":1,"method":"ping"}]"#,
                    ],
                    codes::INVALID_REQUEST,
                )
            },
        ),
        case(
            "rpc.error.id-wrong-type",
            Rpc,
            Must,
            "5.5",
            "an id that is a boolean, object or array gets id null and -32600",
            |c| {
                bad_body(
                    c,
                    &[
                        br#"{"id":true,"method":"ping"}"#,
                        br#"{"id":{"n":1},"method":"ping"}"#,
                        br#"{"id":[1],"method":"ping"}"#,
                    ],
                    codes::INVALID_REQUEST,
                )
            },
        ),
        case(
            "rpc.error.multi-frame-body",
            Rpc,
            Must,
            "5.5",
            "a body of more than one frame gets id null and -32600",
            multi_frame,
        ),
        case(
            "rpc.error.unknown-method",
            Rpc,
            Must,
            "5.5",
            "an unknown method gets -32601 with the request's id",
            unknown_method,
        ),
        case(
            "rpc.error.method-not-string",
            Rpc,
            Should,
            "5.5",
            "a method that is not a string gets -32600 with the request's id",
            method_not_string,
        ),
        case(
            "rpc.error.notification-no-reply",
            Rpc,
            Must,
            "5.4",
            "notifications (no id), failing ones included, get no reply",
            notifications,
        ),
    ]
}

fn bad_body(ctx: &Ctx, bodies: &[&[u8]], code: i64) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let why = if code == codes::PARSE_ERROR {
        "parse error"
    } else {
        "invalid request"
    };
    for body in bodies {
        conn.send(body)?;
        let reply = conn.recv_reply(&format!(
            "an error reply with id null and {code} ({why}, §5.5)"
        ))?;
        check_id(&reply, expected_id(b"{\"id\":null}").as_ref())?;
        check_error_code(&reply, code, why)?;
    }
    Ok(Verdict::Pass)
}

fn multi_frame(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let body = request("1", "ping", None);
    conn.send_frames(vec![body.clone(), body])?;
    let reply = conn.recv_reply("an error reply with id null and -32600 (§5.5)")?;
    check_id(&reply, expected_id(b"{\"id\":null}").as_ref())?;
    check_error_code(
        &reply,
        codes::INVALID_REQUEST,
        "invalid request: body of two frames",
    )?;
    Ok(Verdict::Pass)
}

fn unknown_method(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = conn.call(&request("99", "plug.conformance.no-such-method", None))?;
    check_error_code(&reply, codes::METHOD_NOT_FOUND, "method not found")?;
    Ok(Verdict::Pass)
}

fn method_not_string(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = conn.call(br#"{"id":5,"method":5}"#)?;
    check_error_code(
        &reply,
        codes::INVALID_REQUEST,
        "invalid request: method is not a string",
    )?;
    Ok(Verdict::Pass)
}

/// Sends notifications, waits a grace period, then a ping: the ping's reply
/// must be the only message that arrives.
fn notifications(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let notes: [&[u8]; 4] = [
        br#"{"method":"ping"}"#,
        br#"{"jsonrpc":"2.0","method":"plug.conformance.no-such-method","params":[1]}"#,
        br#"{"method":"echo","params":{"x":1}}"#,
        br#"{"method":5}"#,
    ];
    for n in notes {
        conn.send(n)?;
    }
    let grace = Duration::from_millis(300).min(ctx.timeout);
    conn.conn.note(format!(
        "waiting {} ms for replies that must not come",
        grace.as_millis()
    ));
    sleep(grace);
    let probe = request("\"after-notifications\"", "ping", None);
    conn.send(&probe)?;
    let reply = conn.recv_reply("the reply to the ping sent after the notifications")?;
    if reply.id.as_ref() != expected_id(&probe).as_ref() {
        return Err(fail(
            "no reply to a notification; only the reply to the later ping (§5.4)",
            format!("a reply to a notification: {}", reply.short()),
        ));
    }
    if let Some(late) = conn.recv_reply_within(Duration::from_millis(100))? {
        return Err(fail(
            "no reply to a notification (§5.4)",
            format!("a late reply: {}", late.short()),
        ));
    }
    Ok(Verdict::Pass)
}
