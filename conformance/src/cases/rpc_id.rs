//! `rpc.id.*`: the id comes back with the same JSON type and value (§5.2).

use plug::protocol::EnvelopeStyle;
use serde_json::Value;

use super::case;
use crate::case::{ensure, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.id.int-zero",
            Rpc,
            Must,
            "5.2",
            "integer id 0 comes back unchanged",
            |c| round_trip(c, "0"),
        ),
        case(
            "rpc.id.int-negative",
            Rpc,
            Must,
            "5.2",
            "negative integer id -42 comes back unchanged",
            |c| round_trip(c, "-42"),
        ),
        case(
            "rpc.id.int-i64-min",
            Rpc,
            Must,
            "5.2",
            "id -2^63 comes back unchanged",
            |c| round_trip(c, "-9223372036854775808"),
        ),
        case(
            "rpc.id.int-2p53-plus-1",
            Rpc,
            Must,
            "5.2",
            "id 2^53+1 (not a double) comes back unchanged",
            |c| round_trip(c, "9007199254740993"),
        ),
        case(
            "rpc.id.int-i64-max",
            Rpc,
            Must,
            "5.2",
            "id 2^63-1 comes back unchanged",
            |c| round_trip(c, "9223372036854775807"),
        ),
        case(
            "rpc.id.int-u64-max",
            Rpc,
            Must,
            "5.2",
            "id 2^64-1 comes back unchanged",
            |c| round_trip(c, "18446744073709551615"),
        ),
        case(
            "rpc.id.int-beyond-64-bits",
            Rpc,
            Should,
            "5.2",
            "id 2^64 * 10^10 (beyond 64 bits) comes back unchanged",
            |c| round_trip(c, "184467440737095516160000000000"),
        ),
        case(
            "rpc.id.number-fraction",
            Rpc,
            Should,
            "5.2",
            "id 1.50 (a fraction) comes back as 1.50",
            |c| round_trip(c, "1.50"),
        ),
        case(
            "rpc.id.null",
            Rpc,
            Must,
            "5.4",
            "id null is not a notification: the reply has id null",
            |c| round_trip(c, "null"),
        ),
        case(
            "rpc.id.str-empty",
            Rpc,
            Must,
            "5.2",
            "the empty string id comes back unchanged",
            |c| round_trip(c, r#""""#),
        ),
        case(
            "rpc.id.str-escapes",
            Rpc,
            Must,
            "5.2",
            "a string id with quotes, backslashes, control characters and NUL",
            |c| round_trip(c, r#""a\"b\\c\n\t\u0000\u001f/\ud800\udc00""#),
        ),
        case(
            "rpc.id.str-non-bmp",
            Rpc,
            Must,
            "5.2",
            "a string id with characters outside the BMP",
            |c| round_trip(c, "\"\u{1F600}\u{10FFFF}\u{20000} é\""),
        ),
        case(
            "rpc.id.str-long",
            Rpc,
            Must,
            "5.2",
            "a 4096-character string id",
            |c| round_trip(c, &Value::from("x".repeat(4096)).to_string()),
        ),
        case(
            "rpc.id.same-id-two-clients",
            Rpc,
            Must,
            "5.2",
            "two clients using the same id each get their own one reply",
            two_clients,
        ),
    ]
}

fn round_trip(ctx: &Ctx, id_json: &str) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    conn.call(&request(id_json, "ping", None))?;
    Ok(Verdict::Pass)
}

fn two_clients(ctx: &Ctx) -> Step<Verdict> {
    let a = RpcConn::dealer(ctx, "A", EnvelopeStyle::Bare)?;
    let b = RpcConn::dealer(ctx, "B", EnvelopeStyle::Bare)?;
    // Different params make the replies tell apart when `echo` exists; the
    // count of replies per client tells them apart when it does not.
    a.send(&request("7", "echo", Some(&Value::from("from A"))))?;
    b.send(&request("7", "echo", Some(&Value::from("from B"))))?;
    for (conn, mine, other) in [(&a, "from A", "from B"), (&b, "from B", "from A")] {
        let reply = conn.recv_reply("one reply with id 7 for each client")?;
        ensure(reply.id_text() == "7", "the reply carries id 7", || {
            format!("id {}", reply.id_text())
        })?;
        if reply.is_method_not_found() {
            continue;
        }
        ensure(
            reply.result() == Some(&Value::from(mine)),
            format!("the client that sent {mine:?} gets its own reply"),
            || {
                if reply.result() == Some(&Value::from(other)) {
                    format!("the other client's reply: {}", reply.short())
                } else {
                    reply.short()
                }
            },
        )?;
    }
    for conn in [&a, &b] {
        if let Some(extra) = conn.recv_reply_within(std::time::Duration::from_millis(200))? {
            return Err(crate::case::fail(
                "exactly one reply per client",
                format!("a second reply: {}", extra.short()),
            ));
        }
    }
    Ok(Verdict::Pass)
}
