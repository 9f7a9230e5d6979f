//! `raw.size.*`, `raw.order.*`, `raw.clients.*`: large messages, many
//! messages, several peers (§4.3, §8.1-b, §2.5-a).

use super::case;
use crate::case::{fail, Case, Ctx, Path::*, Profile::Raw, Requirement::*, Step, Verdict};
use crate::raw_conn::RawConn;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "raw.size.1mib",
            Raw,
            Must,
            &["4.3-a", "8.1-b"],
            "a 1 MiB frame (the floor every raw server echoes) comes back unchanged",
            |c| echo_big(c, 1 << 20),
        )
        .on(&[Bare])
        .slow(10),
        case(
            "raw.size.64mib",
            Raw,
            Should,
            &["4.3-c", "4.3-d"],
            "a 64 MiB frame comes back unchanged (above the 1 MiB floor a server may drop it)",
            |c| echo_big(c, 64 << 20),
        )
        .on(&[Bare])
        .waits(6)
        .slow(60),
        case(
            "raw.size.interleaved",
            Raw,
            Must,
            &["4.3-a", "4.3-b", "4.2-a"],
            "big and small messages sent together come back whole and in order",
            interleaved,
        )
        .on(&[Bare])
        .slow(10),
        case(
            "raw.order.10k",
            Raw,
            Must,
            &["4.3-b", "4.3-a"],
            "10000 messages, up to 500 in flight, come back complete and in order",
            order,
        )
        .on(&[Bare])
        .bulk(10_000),
        case(
            "raw.clients.own-messages",
            Raw,
            Must,
            &["2.5-a", "3.3-a", "4.3-b", "4.3-a"],
            "4 clients at once each get back only their own messages, in order",
            clients,
        )
        .on(&[SeveralPeers, Bare])
        .several()
        .bulk(800),
    ]
}

/// Bytes whose every position is recognisable, so a cut or shift shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_add(seed))
        .collect()
}

fn echo_big(ctx: &Ctx, size: usize) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    conn.send(&[pattern(size, 0)])?;
    let wait = ctx.timeout
        * if size > crate::raw_conn::SIZE_FLOOR {
            3
        } else {
            2
        };
    match conn.expect_next(wait) {
        Ok(()) => {}
        Err(v) if size > crate::raw_conn::SIZE_FLOOR && !conn.changed_echo_seen() => {
            let actual = match v {
                Verdict::Fail(f) => f.actual,
                other => format!("{other:?}"),
            };
            ctx.notes.soft_fail(
                fail(
                    format!("the {} MiB message back (§4.3-c SHOULD)", size >> 20),
                    format!("{actual}: dropped (a server MAY drop above its bound, §4.3-d)"),
                )
                .hint("echo large messages too, or log the ones above your bound (§4.3-e)")
                .should(),
            );
            conn.forget_oldest();
        }
        Err(v) => return Err(v),
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn interleaved(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    let messages: Vec<Vec<Vec<u8>>> = vec![
        vec![pattern(1 << 20, 1)],
        vec![b"s".to_vec()],
        vec![pattern(512 << 10, 2), Vec::new()],
        vec![Vec::new()],
        vec![pattern((1 << 20) - 1, 3)],
        vec![b"t".to_vec(), b"u".to_vec()],
        vec![
            pattern(300 << 10, 4),
            pattern(300 << 10, 5),
            pattern(300 << 10, 6),
        ],
        vec![b"v".to_vec()],
    ];
    for m in &messages {
        conn.send(m)?;
    }
    conn.expect_all(ctx.timeout * 2)?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn order(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    let total = ctx.bulk(10_000, 1000);
    let window = 500;
    conn.conn.note(format!(
        "sending {total} messages, at most {window} in flight"
    ));
    let mut next = 0u64;
    while next < total || conn.in_flight() > 0 {
        while next < total && conn.in_flight() < window {
            conn.send(&[
                format!("seq {next}").into_bytes(),
                next.to_be_bytes().to_vec(),
            ])?;
            next += 1;
        }
        conn.expect_next(ctx.timeout)?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn clients(ctx: &Ctx) -> Step<Verdict> {
    let names = ["A", "B", "C", "D"];
    let conns: Vec<RawConn> = names
        .iter()
        .map(|n| RawConn::dealer(ctx, n))
        .collect::<Step<_>>()?;
    let per = ctx.bulk(800, 200) / 4;
    for i in 0..per {
        for (k, c) in conns.iter().enumerate() {
            c.send(&[format!("client {} message {i}", names[k]).into_bytes()])?;
        }
    }
    for c in &conns {
        c.expect_all(ctx.timeout).map_err(|v| {
            v.replace_hint(
                "messages went to the wrong peer: reply with each message's own identity frame \
                 (§3.3-a)",
            )
        })?;
    }
    for c in conns {
        c.finish()?;
    }
    Ok(Verdict::Pass)
}
