//! `perf.*`: throughput and latency, for information unless the user gives
//! thresholds (`--min-throughput`, `--max-p99-us`). Every reply is judged
//! like in any other case.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::case;
use crate::case::{fail, Case, Ctx, Path::*, Profile, Requirement::Info, Step, Verdict};
use crate::raw_conn::RawConn;
use crate::rpc::{Request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "perf.rpc.throughput",
            Profile::Rpc,
            Info,
            &["5.3-d"],
            "pings per second over 1 s with 100 in flight",
            rpc_throughput,
        )
        .on(&[Success, Bare])
        .slow(5),
        case(
            "perf.rpc.latency",
            Profile::Rpc,
            Info,
            &["5.3-d"],
            "round-trip latency of 2000 sequential pings (p50, p99, max)",
            rpc_latency,
        )
        .on(&[Success, Bare])
        .bulk(2000),
        case(
            "perf.raw.throughput",
            Profile::Raw,
            Info,
            &["4.3-a"],
            "64-byte messages per second over 1 s with 100 in flight",
            raw_throughput,
        )
        .on(&[Bare])
        .slow(5),
        case(
            "perf.raw.latency",
            Profile::Raw,
            Info,
            &["4.3-a"],
            "round-trip latency of 2000 sequential 64-byte messages",
            raw_latency,
        )
        .on(&[Bare])
        .bulk(2000),
    ]
}

/// Keeps `window` round trips in flight for about a second.
fn throughput(
    ctx: &Ctx,
    mut send: impl FnMut(u64) -> Step<()>,
    mut recv: impl FnMut() -> Step<bool>,
    in_flight: impl Fn() -> u64,
) -> Step<Verdict> {
    let window = 100u64;
    let start = Instant::now();
    let (mut sent, mut done) = (0u64, 0u64);
    while start.elapsed() < Duration::from_secs(1) || in_flight() > 0 {
        while in_flight() < window && start.elapsed() < Duration::from_secs(1) {
            sent += 1;
            send(sent)?;
        }
        if !recv()? {
            return Err(fail(
                "a reply to every request",
                format!("{done} of {sent} answered, then silence"),
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
    let n = ctx.bulk(2000, 200);
    for i in 1..=n {
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
    let v = throughput(
        ctx,
        |id| conn.send(&Request::call(&id.to_string(), "ping")).map(drop),
        || Ok(conn.next_reply(ctx.timeout)?.is_some()),
        || conn.in_flight() as u64,
    )?;
    conn.finish()?;
    Ok(v)
}

fn rpc_latency(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let v = latency(ctx, |id| {
        conn.call(&Request::call(&id.to_string(), "ping")).map(drop)
    })?;
    conn.finish()?;
    Ok(v)
}

fn raw_throughput(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    let msg = |n: u64| {
        let mut m = vec![7u8; 64];
        m[..8].copy_from_slice(&n.to_be_bytes());
        vec![m]
    };
    let v = throughput(
        ctx,
        |n| conn.send(&msg(n)),
        || conn.expect_next(ctx.timeout).map(|()| true),
        || conn.in_flight() as u64,
    )?;
    conn.finish()?;
    Ok(v)
}

fn raw_latency(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    let v = latency(ctx, |n| {
        let mut m = vec![7u8; 64];
        m[..8].copy_from_slice(&n.to_be_bytes());
        conn.round_trip(&[m])
    })?;
    conn.finish()?;
    Ok(v)
}
