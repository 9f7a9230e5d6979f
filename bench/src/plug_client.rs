//! The client of the plug rows: the `plug` library itself, one connection
//! with `window` requests in flight in a closed loop, so that those rows
//! measure the plug and not the harness's engine.
//!
//! - rpc: an `RpcPlug` sends `{"method":"echo","params":"xxx…"}`; the
//!   `window` requests in flight are futures polled by one task, each
//!   replaced by the next as soon as it ends.
//! - raw: a `RawPlug` sends `size` bytes whose first 8 are a sequence
//!   number; one task sends `window` messages, then one more for each echo
//!   it reads from the plug's message stream, as the libzmq driver does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use plug::transport::Transport;
use plug::PlugBuilder;
use plug_conformance::Profile;
use serde_json::{json, Value};

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
    let params = Value::String("x".repeat(size));
    let call = |plug: plug::RpcPlug, params: Value| async move {
        let sent = Instant::now();
        let reply = plug
            .request(json!({"method": "echo", "params": params}))
            .await;
        (sent, reply)
    };
    let mut h = histogram();
    let (mut ok, mut failed, mut sent) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    while in_flight.len() < window && amount.more(start, sent) {
        in_flight.push(call(plug.clone(), params.clone()));
        sent += 1;
    }
    while let Some((at, reply)) = in_flight.next().await {
        match reply {
            Ok(r) if r.result().as_str().is_some_and(|s| s.len() == size) => {
                record(&mut h, at);
                ok += 1;
            }
            _ => failed += 1,
        }
        if amount.more(start, sent) {
            in_flight.push(call(plug.clone(), params.clone()));
            sent += 1;
        }
    }
    let elapsed = start.elapsed();
    plug.close();
    let mut m = finish(&h, ok, size, elapsed);
    m.failed = failed;
    Ok(m)
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
