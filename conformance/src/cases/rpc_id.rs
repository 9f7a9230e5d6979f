//! `rpc.id.*`: the id comes back as the same JSON value (§5.2), on every
//! path: success, error, a reply sent later, a delimited or REQ client, a
//! client with its own routing id, two peers with the same id.

use std::time::Duration;

use super::case;
use crate::case::{ensure, fail, Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::conn::Options;
use crate::hints;
use crate::json::IdValue;
use crate::rpc::{call_optional, check_code, Request, RpcConn, Style, METHOD_NOT_FOUND};

/// Ids every server must copy exactly (§5.2-a), as JSON text.
pub(super) const MUST_IDS: &[&str] = &[
    "0",
    "-42",
    "-9223372036854775808",
    "9007199254740993",
    "9223372036854775807",
    "18446744073709551615",
    "null",
    r#""""#,
    r#""a\"b\\c\n\t\u0000\u001f/\ud83d\ude00""#,
    "\"\u{1F600}\u{10FFFF}\u{20000} é\"",
    r#""42""#,
    r#""\u0041""#,
];

/// A routing id no text codec keeps: invalid UTF-8 and a NUL (libzmq
/// reserves a leading zero byte for its own ids).
pub(super) const ROUTING_ID: &[u8] = b"\xffplug\x00\x80\xfe-routing-id";

const ID: &[&str] = &["5.2-a", "5.3-a", "5.3-d"];

pub(super) fn cases() -> Vec<Case> {
    vec![
        id_case(
            "rpc.id.int-zero",
            "integer id 0 comes back unchanged",
            |c| round_trip(c, "0"),
        ),
        id_case(
            "rpc.id.int-negative",
            "negative integer id -42 comes back unchanged",
            |c| round_trip(c, "-42"),
        ),
        id_case("rpc.id.int-i64-min", "id -2^63 comes back unchanged", |c| {
            round_trip(c, "-9223372036854775808")
        }),
        id_case(
            "rpc.id.int-2p53-plus-1",
            "id 2^53+1 (not a double) comes back unchanged",
            |c| round_trip(c, "9007199254740993"),
        ),
        id_case(
            "rpc.id.int-i64-max",
            "id 2^63-1 comes back unchanged",
            |c| round_trip(c, "9223372036854775807"),
        ),
        id_case(
            "rpc.id.int-u64-max",
            "id 2^64-1 comes back unchanged",
            |c| round_trip(c, "18446744073709551615"),
        ),
        id_case(
            "rpc.id.number-non-integer",
            "ids 1.5, -0.25 and 2.5e3 come back as numbers of the same value",
            |c| {
                for id in ["1.5", "-0.25", "2.5e3"] {
                    round_trip(c, id)?;
                }
                Ok(Verdict::Pass)
            },
        ),
        id_case(
            "rpc.id.member-order",
            "the id is read from the object, not searched for: last, after an `id` in params, \
             spaced, holding , } : \"",
            member_order,
        ),
        case(
            "rpc.id.int-beyond-64-bits",
            Rpc,
            Should,
            &["5.2-b"],
            "id 2^64 * 10^10 (beyond 64 bits) comes back as the same text",
            |c| exact_text(c, "184467440737095516160000000000"),
        )
        .on(&[Success, Bare]),
        case(
            "rpc.id.number-fraction",
            Rpc,
            Should,
            &["5.2-b"],
            "id 1.50 (a fraction) comes back as 1.50",
            |c| exact_text(c, "1.50"),
        )
        .on(&[Success, Bare]),
        case(
            "rpc.id.number-exponent",
            Rpc,
            Should,
            &["5.2-b"],
            "id 25e-1 (an exponent) comes back as 25e-1",
            |c| exact_text(c, "25e-1"),
        )
        .on(&[Success, Bare]),
        case(
            "rpc.id.null",
            Rpc,
            Must,
            &["5.4-b", "5.2-a", "5.3-d"],
            "id null is not a notification: the reply has id null",
            |c| round_trip(c, "null"),
        )
        .on(&[Success, Bare]),
        id_case(
            "rpc.id.str-empty",
            "the empty string id comes back unchanged",
            |c| round_trip(c, r#""""#),
        ),
        id_case(
            "rpc.id.str-escapes",
            "a string id with quotes, backslashes, control characters, NUL and a surrogate pair",
            |c| round_trip(c, r#""a\"b\\c\n\t\u0000\u001f/\ud800\udc00""#),
        ),
        id_case(
            "rpc.id.str-unicode-escape",
            "a string id written with \\u escapes may come back as the same characters",
            |c| round_trip(c, r#""\u0041\u00e9\u4e2d""#),
        ),
        id_case(
            "rpc.id.str-non-bmp",
            "a string id with characters outside the BMP, written as UTF-8",
            |c| round_trip(c, "\"\u{1F600}\u{10FFFF}\u{20000} é\""),
        ),
        id_case("rpc.id.str-long", "a 4096-character string id", |c| {
            round_trip(c, &format!("\"{}\"", "x".repeat(4096)))
        }),
        id_case(
            "rpc.id.str-numeric",
            "a string id that looks like a number (\"42\") stays a string",
            |c| round_trip(c, r#""42""#),
        ),
        case(
            "rpc.id.str-lone-surrogate",
            Rpc,
            Must,
            &["5.2-c", "5.3-a", "5.3-d"],
            "a string id \"\\ud800\" comes back unchanged, or the request gets -32700 with id null",
            lone_surrogate,
        )
        .on(&[Success, Bare]),
        case(
            "rpc.id.on-error",
            Rpc,
            Must,
            &["5.2-a", "5.5-f", "5.3-a", "5.3-d"],
            "every id above comes back on an error reply (-32601)",
            |c| {
                let conn = RpcConn::bare(c, "A")?;
                on_error(c, &conn)?;
                conn.finish()?;
                Ok(Verdict::Pass)
            },
        )
        .on(&[Error, Bare]),
        case(
            "rpc.id.on-deferred",
            Rpc,
            Must,
            &["5.2-a", "5.3-a", "5.3-d", "6.3-a"],
            "every id above comes back on a reply sent later (`sleep`)",
            on_deferred,
        )
        .on(&[Deferred, Success, Bare]),
        case(
            "rpc.id.on-delimited",
            Rpc,
            Must,
            &["5.2-a", "3.3-b", "5.3-a", "5.3-d"],
            "every id above comes back to a delimited client, on success and error replies",
            |c| {
                let conn = RpcConn::dealer(c, "A", Style::Delimited)?;
                both(c, conn)
            },
        )
        .on(&[Delimited, Success, Error]),
        case(
            "rpc.id.on-req",
            Rpc,
            Must,
            &["5.2-a", "3.3-b", "5.3-a", "5.3-d", "7.1-c"],
            "every id above comes back to a REQ socket, on success and error replies",
            |c| {
                let conn = RpcConn::req(c, "REQ")?;
                both(c, conn)
            },
        )
        .on(&[Req, Success, Error])
        .req(),
        case(
            "rpc.id.on-routing-id",
            Rpc,
            Must,
            &["5.2-a", "3.3-a", "5.3-a", "5.3-d"],
            "every id above comes back to a client with its own binary routing id",
            |c| {
                let conn = RpcConn::open(
                    c,
                    "A",
                    zmq::DEALER,
                    Style::Bare,
                    &Options {
                        routing_id: Some(ROUTING_ID.to_vec()),
                        ..Options::default()
                    },
                )?;
                both(c, conn).map_err(|v| v.hint(hints::ROUTING_ID_TEXT))
            },
        )
        .on(&[RoutingId, Success, Error]),
        case(
            "rpc.id.same-id-two-clients",
            Rpc,
            Must,
            &["5.2-a", "3.3-a", "2.5-a", "5.3-d"],
            "two clients using the same id at once each get their own one reply",
            two_clients,
        )
        .on(&[SeveralPeers, Success])
        .several(),
        case(
            "rpc.id.same-id-deferred",
            Rpc,
            Must,
            &["5.2-a", "3.3-a", "5.3-d", "6.3-a"],
            "two clients sleeping with the same id at once each get their own reply, later",
            same_id_deferred,
        )
        .on(&[SeveralPeers, Deferred])
        .several(),
    ]
}

fn id_case(id: &'static str, summary: &'static str, run: fn(&Ctx) -> Step<Verdict>) -> Case {
    case(id, Rpc, Must, ID, summary, run).on(&[Success, Bare])
}

fn round_trip(ctx: &Ctx, id: &str) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    conn.call(&Request::call(id, "ping"))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// Requests whose `id` a server that searches the text for it, instead of
/// parsing the object, gets wrong.
fn member_order(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let requests: [(&str, &str); 4] = [
        (r#"{"method":"ping","id":"last"}"#, r#""last""#),
        (
            r#"{"params":{"id":"inner","x":{"id":7}},"method":"plug.conformance.no-such-method","id":"outer"}"#,
            r#""outer""#,
        ),
        (r#"{ "id" : 17 , "method" : "ping" }"#, "17"),
        (r#"{"id":"a,b}c:\"d","method":"ping"}"#, r#""a,b}c:\"d""#),
    ];
    for (body, id) in requests {
        conn.call(&Request::text(body, id))?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// A SHOULD-level id (§5.2-b): the same text; a changed id is non-strict.
fn exact_text(ctx: &Ctx, id: &str) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    conn.send(&Request::call(id, "ping"))?;
    let Some((members, _)) = conn.next_raw_reply(ctx.timeout)? else {
        return Err(fail(
            format!("a reply with id {id} (§5.3-d)"),
            format!("nothing within {} ms", ctx.timeout.as_millis()),
        ));
    };
    let got = members.get("id").unwrap_or("(none)").to_owned();
    conn.finish()?;
    if got == id {
        return Ok(Verdict::Pass);
    }
    let sent = IdValue::parse(id);
    let back = IdValue::parse(&got);
    let what = if back.same_as(&sent) {
        "the same value written differently"
    } else {
        "a different id"
    };
    Err(fail(
        format!("id {id} back as the same text (§5.2-b)"),
        format!("id {got}: {what}"),
    )
    .hint(hints::changed_id(id, &sent, &got, &back)))
}

fn lone_surrogate(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let id = r#""\ud800""#;
    let reply = conn
        .call(&Request::call(id, "ping").expecting(crate::rpc::Expect::IdOrNull(id.to_owned())))?;
    if reply.id == IdValue::Null {
        check_code(
            &reply,
            crate::rpc::PARSE_ERROR,
            "§5.2-c: -32700 with id null",
        )?;
        ctx.notes
            .detail("the lone surrogate was refused with -32700 and id null (allowed, §5.2-c)");
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn on_error(_ctx: &Ctx, conn: &RpcConn) -> Step<()> {
    for id in MUST_IDS {
        let reply = conn.call(&Request::call(id, "plug.conformance.no-such-method"))?;
        check_code(&reply, METHOD_NOT_FOUND, "§5.5-f")?;
    }
    Ok(())
}

fn both(ctx: &Ctx, conn: RpcConn) -> Step<Verdict> {
    for id in MUST_IDS {
        conn.call(&Request::call(id, "ping"))?;
    }
    on_error(ctx, &conn)?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn on_deferred(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    call_optional(
        &conn,
        &Request::with_params("\"sleep-probe\"", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    let tickets: Vec<_> = MUST_IDS
        .iter()
        .map(|id| conn.send(&Request::with_params(id, "sleep", r#"{"ms":20}"#)))
        .collect::<Step<_>>()?;
    for t in tickets {
        conn.wait(t)?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn two_clients(ctx: &Ctx) -> Step<Verdict> {
    let a = RpcConn::bare(ctx, "A")?;
    let b = RpcConn::bare(ctx, "B")?;
    // Different params tell the replies apart when `echo` exists.
    let ta = a.send(&Request::with_params("7", "echo", r#""from A""#))?;
    let tb = b.send(&Request::with_params("7", "echo", r#""from B""#))?;
    for (conn, t, mine) in [(&a, ta, "from A"), (&b, tb, "from B")] {
        let reply = conn.wait(t)?;
        if reply.is_method_not_found() || reply.limited {
            continue;
        }
        let got = reply.result_value();
        ensure(
            got == Some(serde_json::Value::from(mine)),
            format!("the client that sent {mine:?} gets its own reply (§3.3-a)"),
            || reply.short(),
        )
        .map_err(|v| v.hint(hints::WRONG_PEER))?;
    }
    a.finish()?;
    b.finish()?;
    Ok(Verdict::Pass)
}

fn same_id_deferred(ctx: &Ctx) -> Step<Verdict> {
    let a = RpcConn::bare(ctx, "A")?;
    let b = RpcConn::bare(ctx, "B")?;
    call_optional(
        &a,
        &Request::with_params("\"sleep-probe\"", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    let ta = a.send(&Request::with_params("7", "sleep", r#"{"ms":150}"#))?;
    let tb = b.send(&Request::with_params("7", "sleep", r#"{"ms":30}"#))?;
    let wait = ctx.timeout + Duration::from_millis(150);
    for (conn, t, ms) in [(&b, tb, 30), (&a, ta, 150)] {
        let reply = conn.wait_within(t, wait)?;
        if reply.limited {
            continue;
        }
        ensure(
            reply.result_value() == Some(serde_json::json!({ "ms": ms })),
            format!("the client that slept {ms} ms gets {{\"ms\": {ms}}} (§6.3-a, §3.3-a)"),
            || reply.short(),
        )
        .map_err(|v| v.hint(hints::WRONG_PEER))?;
    }
    a.finish()?;
    b.finish()?;
    Ok(Verdict::Pass)
}
