//! `perf.*`: throughput and latency, for information unless the user gives
//! thresholds (`--min-throughput`, `--max-p99-us`).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::case;
use crate::case::{fail, Case, Ctx, Profile, Requirement::Info, Step, Verdict};
use crate::conn::Conn;
use crate::rpc::{counter_request, RpcConn};

const SECTION: &str = "9";

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "perf.rpc.throughput",
            Profile::Rpc,
            Info,
            SECTION,
            "pings per second over 1 s with 100 in flight",
            rpc_throughput,
        )
        .slow(5),
        case(
            "perf.rpc.latency",
            Profile::Rpc,
            Info,
            SECTION,
            "round-trip latency of 2000 sequential pings (p50, p99, max)",
            rpc_latency,
        )
        .slow(20),
        case(
            "perf.raw.throughput",
            Profile::Raw,
            Info,
            SECTION,
            "64-byte messages per second over 1 s with 100 in flight",
            raw_throughput,
        )
        .slow(5),
        case(
            "perf.raw.latency",
            Profile::Raw,
            Info,
            SECTION,
            "round-trip latency of 2000 sequential 64-byte messages",
            raw_latency,
        )
        .slow(20),
    ]
}

/// Keeps `window` round trips in flight for about a second.
fn throughput(
    ctx: &Ctx,
    mut send: impl FnMut(u64) -> Step<()>,
    mut recv: impl FnMut() -> Step<bool>,
) -> Step<Verdict> {
    let window = 100u64;
    let start = Instant::now();
    let (mut sent, mut done) = (0u64, 0u64);
    while start.elapsed() < Duration::from_secs(1) || done < sent {
        while sent - done < window && start.elapsed() < Duration::from_secs(1) {
            sent += 1;
            send(sent)?;
        }
        if !recv()? {
            return Err(fail(
                "a reply to every request",
                format!("{} of {sent} answered, then silence", done),
            ));
        }
        done += 1;
    }
    let rate = done as f64 / start.elapsed().as_secs_f64();
    let detail = format!(
        "{rate:.0} round trips/s ({done} in {:.2} s, {window} in flight)",
        start.elapsed().as_secs_f64()
    );
    match ctx.thresholds.min_throughput {
        Some(min) if rate < min => Err(fail(
            format!("at least {min:.0} round trips/s (--min-throughput)"),
            detail,
        )),
        _ => Ok(Verdict::Info { detail }),
    }
}

fn latency(ctx: &Ctx, mut round_trip: impl FnMut(u64) -> Step<()>) -> Step<Verdict> {
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
    for i in 1..=2000 {
        let t = Instant::now();
        round_trip(i)?;
        hist.saturating_record(t.elapsed().as_micros().max(1) as u64);
    }
    let p99 = hist.value_at_quantile(0.99);
    let detail = format!(
        "p50 {} us, p99 {} us, max {} us over {} round trips",
        hist.value_at_quantile(0.5),
        p99,
        hist.max(),
        hist.len()
    );
    match ctx.thresholds.max_p99_us {
        Some(max) if p99 > max => Err(fail(format!("p99 at most {max} us (--max-p99-us)"), detail)),
        _ => Ok(Verdict::Info { detail }),
    }
}

fn rpc_throughput(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    throughput(
        ctx,
        |id| conn.send(&counter_request(id, "ping", None)),
        || Ok(conn.recv_reply_within(ctx.timeout)?.is_some()),
    )
}

fn rpc_latency(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    latency(ctx, |id| {
        conn.call(&counter_request(id, "ping", None)).map(drop)
    })
}

fn raw_throughput(ctx: &Ctx) -> Step<Verdict> {
    let conn = Conn::open(ctx, zmq::DEALER, "A")?;
    let msg = [vec![7u8; 64]];
    throughput(
        ctx,
        |_| conn.send(&msg),
        || Ok(conn.recv_within(ctx.timeout)?.is_some()),
    )
}

fn raw_latency(ctx: &Ctx) -> Step<Verdict> {
    let conn = Conn::open(ctx, zmq::DEALER, "A")?;
    let msg = [vec![7u8; 64]];
    latency(ctx, |_| {
        conn.send(&msg)?;
        conn.recv("the message back").map(drop)
    })
}
