//! `rpc.robust.*`: no input makes a server crash, hang or stop serving
//! (§8.1, §2.5). After each abuse a new peer's request must be answered.

use std::time::Duration;

use plug::protocol::codes;

use super::case;
use crate::case::{fail, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{check_error_code, counter_request, liveness, request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.robust.invalid-utf8",
            Rpc,
            Must,
            "5.5",
            "invalid UTF-8 gets id null and -32700, and the server keeps serving",
            invalid_utf8,
        ),
        case(
            "rpc.robust.empty-frame",
            Rpc,
            Must,
            "5.5",
            "a lone empty frame is a body that is not JSON: id null and -32700",
            empty_frame,
        ),
        case(
            "rpc.robust.extra-frames",
            Rpc,
            Must,
            "8.1",
            "40 frames of junk, empty ones included, do not stop the server",
            extra_frames,
        ),
        case(
            "rpc.robust.garbage",
            Rpc,
            Must,
            "8.1",
            "64 KiB of binary garbage does not stop the server",
            garbage,
        ),
        case(
            "rpc.robust.deep-nesting",
            Rpc,
            Must,
            "8.1",
            "JSON nested 100000 levels deep does not crash the server",
            deep_nesting,
        ),
        case(
            "rpc.robust.huge-frame",
            Rpc,
            Must,
            "8.1",
            "a 32 MiB request gets a reply (-32001 is fine) or at least leaves the server serving",
            huge_frame,
        )
        .slow(30),
        case(
            "rpc.robust.slow-peer",
            Rpc,
            Must,
            "2.5",
            "a peer that sends 5000 requests and never reads does not hold up others",
            slow_peer,
        )
        .slow(10),
        case(
            "rpc.robust.vanished-peer",
            Rpc,
            Must,
            "2.5",
            "a peer that disconnects with 2000 requests in flight does not hold up others",
            vanished_peer,
        )
        .slow(10),
    ]
}

fn error_then_alive(ctx: &Ctx, frames: Vec<Vec<u8>>, code: i64, what: &str) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    conn.send_frames(frames)?;
    let reply = conn.recv_reply(&format!("an error reply with id null and {code} (§5.5)"))?;
    check_error_code(&reply, code, "parse error")?;
    liveness(ctx, what)?;
    Ok(Verdict::Pass)
}

fn invalid_utf8(ctx: &Ctx) -> Step<Verdict> {
    error_then_alive(
        ctx,
        vec![b"{\"id\":1,\"method\":\"\xff\xfe\xc0\"}".to_vec()],
        codes::PARSE_ERROR,
        "invalid UTF-8",
    )
}

fn empty_frame(ctx: &Ctx) -> Step<Verdict> {
    error_then_alive(ctx, vec![Vec::new()], codes::PARSE_ERROR, "an empty frame")
}

fn extra_frames(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let mut frames = vec![request("1", "ping", None)];
    for i in 0..39u8 {
        frames.push(if i % 3 == 0 {
            Vec::new()
        } else {
            vec![i, 0xff, b'{']
        });
    }
    conn.send_frames(frames)?;
    // An error reply (-32600) is right; silence is tolerated here, the
    // -32600 rule has its own case (rpc.error.multi-frame-body).
    let _ = conn.recv_reply_within(Duration::from_millis(200));
    liveness(ctx, "40 frames of junk")?;
    Ok(Verdict::Pass)
}

fn garbage(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    // A fixed pseudo-random sequence so runs are comparable.
    let mut x: u32 = 0x9e37_79b9;
    let bytes: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    conn.send(&bytes)?;
    let _ = conn.recv_reply_within(Duration::from_millis(200));
    liveness(ctx, "64 KiB of garbage")?;
    Ok(Verdict::Pass)
}

fn deep_nesting(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let depth = 100_000;
    let body = format!(
        r#"{{"id":1,"method":"echo","params":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    conn.send(body.as_bytes())?;
    // Any reply or none; what matters is that the server survives.
    let _ = conn.recv_reply_within(ctx.timeout);
    liveness(ctx, "JSON nested 100000 levels deep")?;
    Ok(Verdict::Pass)
}

fn huge_frame(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let size = 32 << 20;
    let mut body = br#"{"id":1,"method":"echo","params":""#.to_vec();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    conn.send(&body)?;
    match conn.recv_reply_within(ctx.timeout * 3)? {
        Some(reply) if reply.id_text() == "1" || reply.id_text() == "null" => {
            conn.conn
                .note(format!("reply to the 32 MiB request: {}", reply.short()));
        }
        Some(reply) => {
            return Err(fail(
                "a reply with id 1 (or null when it could not be read, §5.5)",
                format!("id {}", reply.id_text()),
            ))
        }
        None => conn.conn.note("no reply to the 32 MiB request"),
    }
    liveness(ctx, "a 32 MiB request")?;
    Ok(Verdict::Pass)
}

fn slow_peer(ctx: &Ctx) -> Step<Verdict> {
    let slow = RpcConn::bare(ctx, "slow")?;
    for id in 1..=5000 {
        slow.send(&counter_request(id, "ping", None))?;
    }
    slow.conn
        .note("sent 5000 requests on `slow`, which never reads");
    std::thread::sleep(Duration::from_millis(300));
    liveness(
        ctx,
        "a peer that sent 5000 requests and does not read its replies",
    )?;
    drop(slow);
    Ok(Verdict::Pass)
}

fn vanished_peer(ctx: &Ctx) -> Step<Verdict> {
    {
        let gone = RpcConn::bare(ctx, "gone")?;
        for id in 1..=2000 {
            gone.send(&counter_request(id, "ping", None))?;
        }
        gone.conn
            .note("sent 2000 requests on `gone`, then closed it");
    }
    std::thread::sleep(Duration::from_millis(100));
    liveness(ctx, "a peer that disconnected with requests in flight")?;
    Ok(Verdict::Pass)
}
