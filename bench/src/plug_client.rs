//! The client of the plug rows: the `plug` library itself, one connection
//! with `window` requests in flight in a closed loop, so that those rows
//! measure the plug and not the harness's engine.
//!
//! - rpc: an `RpcPlug` calls `echo` with the params `"xxx…"`
//!   ([`plug::RpcPlug::call`]); `window` callers, futures polled by one
//!   task, each send their next request as soon as their reply comes.
//! - raw: a `RawPlug` sends `size` bytes whose first 8 are a sequence
//!   number; one task sends `window` messages, then one more for each echo
//!   it reads from the plug's message stream, as the libzmq driver does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use hdrhistogram::Histogram;
use plug::transport::Transport;
use plug::PlugBuilder;
use plug_conformance::Profile;

use crate::drivers::{finish, histogram, record, Measured};

/// How long a request may take before the row fails.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How much load to send.
#[derive(Clone, Copy, Debug)]
pub enum Amount {
    /// New requests for this long.
    Time(Duration),
    /// This many requests.
    Requests(u64),
}

impl Amount {
    fn more(&self, start: Instant, sent: u64) -> bool {
        match *self {
            Amount::Time(d) => start.elapsed() < d,
            Amount::Requests(n) => sent < n,
        }
    }

    /// The most that caller `i` of `callers` sends: its share of a number
    /// of requests (the first ones take the remainder), unbounded for a
    /// time.
    fn share(&self, i: u64, callers: u64) -> u64 {
        match *self {
            Amount::Time(_) => u64::MAX,
            Amount::Requests(n) => n / callers + u64::from(i < n % callers),
        }
    }
}

/// Measures one connection of the plug against `endpoint`.
pub fn measure(
    endpoint: &str,
    profile: Profile,
    transport: Option<Transport>,
    size: usize,
    window: usize,
    amount: Amount,
) -> anyhow::Result<Measured> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let endpoint = endpoint.to_owned();
    // The load runs in a task of the runtime, beside the plug's own tasks,
    // as an application's code does (and as the HTTP/1.1 row's client
    // does): not on the thread that only waits for the result.
    let load = async move {
        let builder = PlugBuilder::new("bench")
            .connect_to(&endpoint)
            .timeout(TIMEOUT)
            .max_in_flight(window.max(1))
            .high_water_mark(i32::try_from(window.saturating_mul(2).max(1000)).unwrap_or(0));
        let builder = match transport {
            Some(t) => builder.transport(t),
            None => builder,
        };
        match profile {
            Profile::Rpc => rpc(builder, size, window, amount).await,
            Profile::Raw => raw(builder, size, window, amount).await,
        }
    };
    runtime.block_on(runtime.spawn(load))?
}

async fn rpc(
    builder: PlugBuilder,
    size: usize,
    window: usize,
    amount: Amount,
) -> anyhow::Result<Measured> {
    let plug = builder.rpc()?;
    let params = "x".repeat(size);
    let tally = Mutex::new(Tally {
        h: histogram(),
        ok: 0,
        failed: 0,
    });
    let start = Instant::now();
    // Each of the `window` callers sends its next request when its reply
    // comes: one future per caller for the whole run, not one per request.
    let caller = |quota: u64| {
        let (plug, params, tally) = (&plug, params.as_str(), &tally);
        async move {
            let mut done = 0u64;
            while done < quota && amount.more(start, done) {
                let at = Instant::now();
                let reply = plug.call("echo", params).await;
                let ok = matches!(&reply, Ok(r) if r.result().as_str() == Some(params));
                let mut t = tally.lock().expect("not poisoned");
                if ok {
                    record(&mut t.h, at);
                    t.ok += 1;
                } else {
                    t.failed += 1;
                }
                done += 1;
            }
        }
    };
    let window = window.max(1) as u64;
    let mut callers: FuturesUnordered<_> = (0..window)
        .map(|i| caller(amount.share(i, window)))
        .collect();
    while callers.next().await.is_some() {}
    drop(callers);
    let elapsed = start.elapsed();
    plug.close();
    let t = tally.into_inner().expect("not poisoned");
    let mut m = finish(&t.h, t.ok, size, elapsed);
    m.failed = t.failed;
    Ok(m)
}

/// What the rpc callers have measured.
struct Tally {
    h: Histogram<u64>,
    ok: u64,
    failed: u64,
}

async fn raw(
    builder: PlugBuilder,
    size: usize,
    window: usize,
    amount: Amount,
) -> anyhow::Result<Measured> {
    anyhow::ensure!(size >= 8, "raw messages carry an 8-byte sequence number");
    let plug = builder.raw()?;
    let mut echoes = plug
        .messages()
        .ok_or_else(|| anyhow::anyhow!("the plug's message stream is taken"))?;
    let mut body = vec![b'x'; size];
    let mut sent_at: HashMap<u64, Instant> = HashMap::with_capacity(window);
    let mut h = histogram();
    let (mut ok, mut failed, mut seq) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    while sent_at.len() < window && amount.more(start, seq) {
        body[..8].copy_from_slice(&seq.to_le_bytes());
        sent_at.insert(seq, Instant::now());
        plug.send(body.clone()).await?;
        seq += 1;
    }
    while !sent_at.is_empty() {
        let msg = tokio::time::timeout(TIMEOUT, echoes.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no echo within {TIMEOUT:?}"))?
            .ok_or_else(|| anyhow::anyhow!("the plug closed"))?;
        let frames = msg.frames();
        let echoed = frames
            .first()
            .and_then(|f| f.get(..8))
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        match echoed.and_then(|s| sent_at.remove(&s)) {
            Some(at) if frames.len() == 1 && frames[0].len() == size => {
                record(&mut h, at);
                ok += 1;
            }
            Some(_) => failed += 1,
            None => continue,
        }
        if amount.more(start, seq) {
            body[..8].copy_from_slice(&seq.to_le_bytes());
            sent_at.insert(seq, Instant::now());
            plug.send(body.clone()).await?;
            seq += 1;
        }
    }
    let elapsed = start.elapsed();
    plug.close();
    let mut m = finish(&h, ok, size, elapsed);
    m.failed = failed;
    Ok(m)
}
