//! `rpc.concurrency.*`: replies matched by id under load, from many peers,
//! while a peer does not read (§5.3-d, §5.6, §2.4, §2.5).

use std::time::{Duration, Instant};

use serde_json::json;

use super::case;
use crate::case::{ensure, fail, Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::conn::Options;
use crate::hints;
use crate::rpc::{call_optional, Request, RpcConn, Style};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.concurrency.pipelined",
            Rpc,
            Must,
            &["5.3-d", "5.6-a", "5.5-j", "8.2-a"],
            "500 requests sent before reading get 500 replies, each id once",
            pipelined,
        )
        .on(&[Success, Bare])
        .bulk(500),
        case(
            "rpc.concurrency.out-of-order",
            Rpc,
            Must,
            &["6.3-a", "5.6-b"],
            "a slow `sleep` does not hold up a later request",
            out_of_order,
        )
        .on(&[Deferred, Bare]),
        case(
            "rpc.concurrency.clients",
            Rpc,
            Must,
            &["2.5-a", "3.3-a", "5.3-d"],
            "8 clients at once, bare and delimited, each receive only their own 250 replies",
            clients,
        )
        .on(&[SeveralPeers, Success, Bare, Delimited])
        .several()
        .bulk(2000),
        case(
            "rpc.concurrency.many",
            Rpc,
            Must,
            &["5.3-d", "5.6-a"],
            "20000 requests, up to 500 in flight: every one answered exactly once",
            many,
        )
        .on(&[Success, Bare])
        .bulk(20_000),
        case(
            "rpc.concurrency.burst",
            Rpc,
            Must,
            &["5.3-d", "2.4-a", "2.4-b", "2.5-a", "5.5-j", "5.5-l"],
            "2500 requests of 8 KB while the client does not read: each gets one reply (or \
             -32002), and another peer is served meanwhile",
            burst,
        )
        .on(&[Success, Bare, SeveralPeers])
        .waits(8)
        .bulk(5000)
        .slow(10),
        case(
            "rpc.concurrency.deferred-peers",
            Rpc,
            Must,
            &["3.3-a", "5.3-d", "6.3-a", "2.5-a"],
            "replies sent later (`sleep`) reach the peer that asked, with three peers asking",
            deferred_peers,
        )
        .on(&[SeveralPeers, Deferred, Bare, Delimited])
        .several(),
    ]
}

/// Receives until every request of `conn` has its reply.
fn drain(conn: &RpcConn, total: usize, hint: Option<&str>) -> Step<()> {
    while conn.in_flight() > 0 {
        if conn.next_reply(conn.conn.timeout())?.is_none() {
            let v = fail(
                format!("a reply to each of the {total} requests (§5.3-d)"),
                format!(
                    "{} replies missing: nothing more within {} ms",
                    conn.in_flight(),
                    conn.conn.timeout().as_millis()
                ),
            );
            return Err(match hint {
                Some(h) => v.hint(h),
                None => v,
            });
        }
    }
    Ok(())
}

fn pipelined(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for id in 1..=500 {
        conn.send(&Request::call(&id.to_string(), "ping"))?;
    }
    drain(&conn, 500, None)?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn out_of_order(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    call_optional(
        &conn,
        &Request::with_params("0", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    let ms = 1500u64.min(ctx.timeout.as_millis() as u64 * 2 / 3);
    let slow = conn.send(&Request::with_params(
        "\"slow\"",
        "sleep",
        &json!({ "ms": ms }).to_string(),
    ))?;
    let fast = conn.send(&Request::with_params("\"fast\"", "sleep", r#"{"ms":0}"#))?;
    let (first, _) = conn
        .next_reply(ctx.timeout + Duration::from_millis(ms))?
        .ok_or_else(|| fail("two replies", "nothing"))?;
    ensure(
        first == fast,
        format!(
            "the reply to sleep 0 before the reply to sleep {ms} sent before it: a sleep must \
             not hold up other requests (§6.3-a)"
        ),
        || "the slow request's reply came first".to_owned(),
    )
    .map_err(|v| {
        v.hint("one slow request holds up the others: run slow handlers off the receiving loop")
    })?;
    conn.wait_within(slow, ctx.timeout + Duration::from_millis(ms))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

const NAMES: [&str; 8] = ["A", "B", "C", "D", "E", "F", "G", "H"];

fn clients(ctx: &Ctx) -> Step<Verdict> {
    let conns: Vec<RpcConn> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let style = if i % 2 == 0 {
                Style::Bare
            } else {
                Style::Delimited
            };
            RpcConn::dealer(ctx, n, style)
        })
        .collect::<Step<_>>()?;
    let per = ctx.bulk(2000, 400) / 8;
    for round in 0..per {
        for (k, conn) in conns.iter().enumerate() {
            conn.send(&Request::call(&format!("\"{}-{round}\"", NAMES[k]), "ping"))?;
        }
    }
    for conn in &conns {
        drain(conn, per as usize, None).map_err(wrong_peer)?;
    }
    for conn in conns {
        conn.finish().map_err(wrong_peer)?;
    }
    Ok(Verdict::Pass)
}

/// A failure about a reply with another id, in a case with several peers:
/// the reply most likely went to the wrong peer.
fn wrong_peer(v: Verdict) -> Verdict {
    match v {
        Verdict::Fail(mut f) if f.actual.starts_with("a reply with id") => {
            f.hint = Some(hints::WRONG_PEER.to_owned());
            Verdict::Fail(f)
        }
        other => other,
    }
}

fn many(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let total = ctx.bulk(20_000, 1000);
    let window = 500;
    conn.conn.note(format!(
        "sending {total} requests, at most {window} in flight"
    ));
    let mut next = 1u64;
    let mut done = 0u64;
    while done < total {
        while next <= total && conn.in_flight() < window {
            conn.send(&Request::call(&next.to_string(), "ping"))?;
            next += 1;
        }
        if conn.next_reply(ctx.timeout)?.is_none() {
            return Err(fail(
                format!("replies to all {total} requests (§5.3-d)"),
                format!(
                    "{done} answered, {} in flight unanswered after {} ms",
                    conn.in_flight(),
                    ctx.timeout.as_millis()
                ),
            ));
        }
        done += 1;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn burst(ctx: &Ctx) -> Step<Verdict> {
    // Small buffers on our side, so that the replies pile up in the
    // server's queues (its high-water mark, 1000 messages by default)
    // rather than in our kernel: 2500 replies of 8 KB overflow them and the
    // 4 MB a server's kernel buffers (Linux's tcp_wmem maximum).
    let a = RpcConn::open(
        ctx,
        "A",
        zmq::DEALER,
        Style::Bare,
        &Options {
            rcvbuf: Some(4096),
            rcvhwm: Some(10),
            ..Options::default()
        },
    )?;
    let pad = "x".repeat(8000);
    let request = |i: u64| Request::call(&format!("\"burst-{i}-{pad}\""), "ping");
    // How long the server takes per request of this size.
    let start = Instant::now();
    for i in 0..64 {
        a.send(&request(i))?;
    }
    drain(&a, 64, None)?;
    let per = start.elapsed() / 64;
    // A server too slow to answer 2500 requests in 5 s cannot fill its
    // queues in the time it has anyway: fewer then.
    let total = (5.0 / per.as_secs_f64().max(1e-6)).clamp(200.0, 2500.0) as u64;
    let mut sent = 0u64;
    let mut stuck_since: Option<Instant> = None;
    let mut stopped_reading = false;
    while sent < total {
        if a.try_send(&request(100 + sent))?.is_some() {
            sent += 1;
            stuck_since = None;
            continue;
        }
        let since = *stuck_since.get_or_insert_with(Instant::now);
        if since.elapsed() > ctx.timeout {
            stopped_reading = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Long enough for the server to answer the whole burst into queues
    // that are full, well within the 5 s a server must keep a reply for a
    // peer that does not read (§2.4-b).
    let pause = (per * 3 / 2)
        .saturating_mul(total as u32)
        .clamp(Duration::from_millis(300), Duration::from_secs(3));
    a.conn.note(format!(
        "sent {sent} requests of 8 KB on A without reading its replies{}; waiting {} ms",
        if stopped_reading {
            " (then the server stopped reading A)"
        } else {
            ""
        },
        pause.as_millis()
    ));
    std::thread::sleep(pause);
    if !ctx.one_peer_only() {
        let b = RpcConn::bare(ctx, "B")?;
        let t = b.send(&Request::call("\"while-A-is-not-reading\"", "ping"))?;
        b.wait(t).map_err(|v| {
            fail(
                "another peer served while A does not read (§2.5-a, §2.4-b)",
                match v {
                    Verdict::Fail(f) => f.actual,
                    other => format!("{other:?}"),
                },
            )
            .hint(hints::BLOCKING_SEND)
        })?;
        b.finish()?;
    }
    drain(&a, sent as usize, Some(hints::HWM_DROP))?;
    a.finish()?;
    if stopped_reading {
        return Err(fail(
            "the server keeps reading a peer whose replies wait (§2.4-b, §2.5-a)",
            format!("it stopped reading after {sent} of {total} requests"),
        )
        .hint(hints::BLOCKING_SEND));
    }
    Ok(Verdict::Pass)
}

fn deferred_peers(ctx: &Ctx) -> Step<Verdict> {
    let a = RpcConn::dealer(ctx, "A", Style::Bare)?;
    let b = RpcConn::dealer(ctx, "B", Style::Delimited)?;
    let c = RpcConn::dealer(ctx, "C", Style::Bare)?;
    call_optional(
        &a,
        &Request::with_params("\"probe\"", "sleep", r#"{"ms":0}"#),
        "sleep",
    )?;
    let ta = a.send(&Request::with_params("\"a\"", "sleep", r#"{"ms":300}"#))?;
    let tb = b.send(&Request::with_params("\"b\"", "sleep", r#"{"ms":150}"#))?;
    let tc = c.send(&Request::with_params("\"c\"", "sleep", r#"{"ms":10}"#))?;
    let wait = ctx.timeout + Duration::from_millis(300);
    for (conn, t) in [(&c, tc), (&b, tb), (&a, ta)] {
        conn.wait_within(t, wait)
            .map_err(|v| wrong_peer(v.hint(hints::WRONG_PEER)))?;
    }
    for conn in [a, b, c] {
        conn.finish().map_err(wrong_peer)?;
    }
    Ok(Verdict::Pass)
}
