//! `rpc.robust.*`: no input makes a server crash, hang or stop serving
//! others (§8.1-a, §2.5-a); each bad input still gets its one error reply.
//! After each abuse another peer's request must be answered.

use std::time::{Duration, Instant};

use super::case;
use crate::case::{fail, Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::hints;
use crate::json::IdValue;
use crate::rpc::{
    alive_after, call_optional, check_code, Expect, Request, RpcConn, INVALID_REQUEST, PARSE_ERROR,
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.robust.invalid-utf8",
            Rpc,
            Must,
            &["5.5-a", "8.1-a", "5.3-d"],
            "invalid UTF-8 (bad bytes, overlong, encoded surrogates), in any member or in a body \
             that is not an object, gets id null and -32700",
            invalid_utf8,
        )
        .on(&[Error, Bare]),
        case(
            "rpc.robust.empty-frame",
            Rpc,
            Must,
            &["5.5-a", "3.4-a", "8.1-a", "5.3-d"],
            "a lone empty frame is a bare message with an empty body: id null and -32700",
            empty_frame,
        )
        .on(&[Error, Bare]),
        case(
            "rpc.robust.extra-frames",
            Rpc,
            Must,
            &["5.5-d", "8.1-a", "5.3-d"],
            "40 frames of junk, empty ones included, get -32600 with id null; the server goes on",
            extra_frames,
        )
        .on(&[Error, Bare]),
        case(
            "rpc.robust.garbage",
            Rpc,
            Must,
            &["5.5-a", "8.1-a", "5.3-d"],
            "60000 bytes of binary garbage get -32700 with id null; the server goes on",
            garbage,
        )
        .on(&[Error, Bare]),
        case(
            "rpc.robust.deep-nesting",
            Rpc,
            Must,
            &["8.1-a", "5.3-d"],
            "JSON nested 30000 levels deep (60 KB) gets one reply and does not stop the server",
            deep_nesting,
        )
        .on(&[Bare]),
        case(
            "rpc.robust.huge-frame",
            Rpc,
            Must,
            &["8.1-a", "8.1-c", "5.5-i", "5.3-d"],
            "a 32 MiB request gets its echo or -32001 (SHOULD: not silence); the server goes on",
            huge_frame,
        )
        .on(&[Error, Bare])
        .waits(6)
        .slow(30),
        case(
            "rpc.robust.slow-peer",
            Rpc,
            Must,
            &["2.5-a", "8.1-a"],
            "a peer that sends 5000 requests and never reads does not hold up others",
            slow_peer,
        )
        .on(&[SeveralPeers])
        .several()
        .bulk(5000),
        case(
            "rpc.robust.vanished-peer",
            Rpc,
            Must,
            &["2.5-a", "2.4-b", "8.1-a"],
            "a peer that disconnects with 2000 requests in flight does not hold up others",
            vanished_peer,
        )
        .on(&[SeveralPeers])
        .several()
        .bulk(2000),
        case(
            "rpc.robust.vanished-peer-deferred",
            Rpc,
            Must,
            &["2.5-a", "8.1-a"],
            "replies sent later (`sleep`) to a peer that has disconnected are dropped; the \
             server goes on",
            vanished_peer_deferred,
        )
        .on(&[SeveralPeers, Deferred])
        .several(),
    ]
}

/// Sends `req`, checks its one error reply, then that the server still
/// answers.
fn error_then_alive(ctx: &Ctx, req: Request, code: i64, what: &str) -> Step<()> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = conn.call(&req)?;
    check_code(&reply, code, "§5.5")?;
    alive_after(ctx, &conn, what)?;
    conn.finish()
}

fn invalid_utf8(ctx: &Ctx) -> Step<Verdict> {
    for body in [
        &b"{\"id\":1,\"method\":\"\xff\xfe\"}"[..],
        &b"{\"id\":2,\"method\":\"\xc0\xaf\"}"[..],
        &b"{\"id\":3,\"method\":\"\xed\xa0\x80\"}"[..],
        // Where a server that checks only what it reads does not look.
        &b"{\"id\":4,\"method\":\"ping\",\"note\":\"\xff\"}"[..],
        &b"{\"id\":5,\"method\":\"echo\",\"params\":{\"a\":\"\xc0\xaf\"}}"[..],
        &b"[\"\xff\"]"[..],
    ] {
        error_then_alive(ctx, Request::null_id(body), PARSE_ERROR, "invalid UTF-8").map_err(
            |v| {
                v.hint(
                    "invalid UTF-8 must be refused as a parse error wherever it is: decode the \
                     whole body strictly before reading it (no replacement characters, no CESU-8 \
                     or Java's modified UTF-8)",
                )
            },
        )?;
    }
    Ok(Verdict::Pass)
}

fn empty_frame(ctx: &Ctx) -> Step<Verdict> {
    error_then_alive(
        ctx,
        Request::null_id(Vec::new()),
        PARSE_ERROR,
        "an empty frame",
    )
    .map_err(|v| {
        v.hint(
            "an empty body is not JSON: answer -32700 with id null (and guard the parser: an \
             empty frame must not crash the server)",
        )
    })?;
    Ok(Verdict::Pass)
}

fn extra_frames(ctx: &Ctx) -> Step<Verdict> {
    let mut frames = vec![br#"{"id":1,"method":"ping"}"#.to_vec()];
    for i in 0..39u8 {
        frames.push(if i % 3 == 0 {
            Vec::new()
        } else {
            vec![i, 0xff, b'{']
        });
    }
    error_then_alive(
        ctx,
        Request::frames(frames),
        INVALID_REQUEST,
        "40 frames of junk",
    )?;
    Ok(Verdict::Pass)
}

fn garbage(ctx: &Ctx) -> Step<Verdict> {
    // A fixed pseudo-random sequence so runs are comparable; it starts
    // with a byte no JSON text starts with.
    let mut x: u32 = 0x9e37_79b9;
    let mut bytes: Vec<u8> = (0..60_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    bytes[0] = 0xfe;
    error_then_alive(
        ctx,
        Request::null_id(bytes),
        PARSE_ERROR,
        "60000 bytes of garbage",
    )?;
    Ok(Verdict::Pass)
}

fn deep_nesting(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let depth = 30_000;
    let body = format!(
        r#"{{"id":1,"method":"echo","params":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    // Any one reply: the echo, or an error with the id or (when the parser
    // gave up before reading it) null.
    let reply = conn
        .call(&Request::text(body, "1").expecting(Expect::IdOrNull("1".into())))
        .map_err(|v| {
            v.hint(
                "deep nesting needs a parser with a depth limit that fails cleanly (Python's \
                 json raises RecursionError, which a handler for JSONDecodeError misses)",
            )
        })?;
    conn.conn
        .note(format!("reply to the deep request: {}", reply.short()));
    alive_after(ctx, &conn, "JSON nested 30000 levels deep")?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn huge_frame(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let size = 32 << 20;
    let mut body = br#"{"id":1,"method":"echo","params":""#.to_vec();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    let t = conn.send(&Request::text(body, "1").expecting(Expect::IdOrNull("1".into())))?;
    let wait = ctx.timeout * 3;
    match conn.wait_within(t, wait) {
        Ok(reply) => {
            if reply.id == IdValue::Null && reply.code() != Some(crate::rpc::TOO_LARGE) {
                return Err(fail(
                    "the echo, or -32001 (§5.5-i)",
                    format!("an error with id null: {}", reply.short()),
                ));
            }
            conn.conn
                .note(format!("reply to the 32 MiB request: {}", reply.short()));
        }
        Err(Verdict::Fail(f)) if f.actual.starts_with("nothing received") => {
            ctx.notes.soft_fail(
                crate::case::fail(
                    "a reply to a 32 MiB request: its echo, or -32001 (§8.1-c SHOULD)",
                    format!(
                        "nothing within {} ms (the server dropped it?)",
                        wait.as_millis()
                    ),
                )
                .hint(hints::DROPPED_NOT_REFUSED)
                .should(),
            );
        }
        Err(v) => return Err(v),
    }
    alive_after(ctx, &conn, "a 32 MiB request")?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn slow_peer(ctx: &Ctx) -> Step<Verdict> {
    let slow = RpcConn::bare(ctx, "slow")?;
    let n = ctx.bulk(5000, 500);
    let deadline = Instant::now() + ctx.timeout;
    let mut sent = 0;
    for id in 1..=n {
        match slow.try_send(&Request::call(&id.to_string(), "ping"))? {
            Some(_) => sent += 1,
            None if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            None => break,
        }
    }
    slow.conn
        .note(format!("sent {sent} requests on `slow`, which never reads"));
    alive_after(
        ctx,
        &slow,
        "a peer that sent thousands of requests and does not read its replies",
    )?;
    drop(slow);
    Ok(Verdict::Pass)
}

fn vanished_peer(ctx: &Ctx) -> Step<Verdict> {
    let n = ctx.bulk(2000, 200);
    {
        let gone = RpcConn::bare(ctx, "gone")?;
        for id in 1..=n {
            gone.send(&Request::call(&id.to_string(), "ping"))?;
        }
        gone.conn
            .note(format!("sent {n} requests on `gone`, then closed it"));
    }
    let live = RpcConn::bare(ctx, "live")?;
    live.call(&Request::call("\"after-vanished\"", "ping"))
        .map_err(|v| {
            v.hint(
                "a reply to a vanished peer must not stall the server: with ROUTER_MANDATORY, \
                 EHOSTUNREACH means drop that reply and go on (§2.4)",
            )
        })?;
    live.finish()?;
    Ok(Verdict::Pass)
}

/// Replies that fall due after their peer has gone: a send to it fails
/// (`EHOSTUNREACH` with `ZMQ_ROUTER_MANDATORY`), and a timer or task that
/// does not catch that takes the server down. Another peer's longer sleep,
/// sent after them, is answered once they were due.
fn vanished_peer_deferred(ctx: &Ctx) -> Step<Verdict> {
    let short = 200;
    {
        let gone = RpcConn::bare(ctx, "gone")?;
        for id in 1..=8 {
            gone.send(&Request::with_params(
                &id.to_string(),
                "sleep",
                &format!(r#"{{"ms":{short}}}"#),
            ))?;
        }
        // Read in order: once the ping is answered, so were the sleeps read.
        gone.call(&Request::call("\"gone-ping\"", "ping"))?;
        gone.conn.note(format!(
            "sent 8 requests `sleep {short}` and a ping on `gone`; closed it once the ping was \
             answered"
        ));
    }
    let live = RpcConn::bare(ctx, "live")?;
    let long = 2 * short;
    live.conn.note(format!(
        "`sleep {long}` on `live`: answered after the replies to `gone` were due"
    ));
    call_optional(
        &live,
        &Request::with_params("\"later\"", "sleep", &format!(r#"{{"ms":{long}}}"#)),
        "sleep",
    )?;
    live.call(&Request::call("\"after-vanished\"", "ping"))
        .map_err(|v| {
            v.hint(
                "a reply sent later to a peer that has gone must be dropped, and the server go \
                 on: catch EHOSTUNREACH where deferred replies are sent (§2.4)",
            )
        })?;
    live.finish()?;
    Ok(Verdict::Pass)
}
