//! Clients for the baselines that have no plug code: raw libzmq, TCP and
//! HTTP. Each keeps `window` round trips in flight for `duration` and
//! records every round trip in an HdrHistogram, like the plug rows'
//! client (`plug_client`) and `plug-conformance bench` do.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use plug_conformance::bench::{plot, BenchReport, Latency};

/// One measured cell of the table.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub msgs_per_s: f64,
    pub mb_per_s: f64,
    pub latency: Latency,
    /// The latency percentile curve (`plot::percentile_curve`).
    pub curve: Vec<(f64, f64)>,
    pub ok: u64,
    /// Errors and timeouts.
    pub failed: u64,
}

impl From<&BenchReport> for Measured {
    fn from(r: &BenchReport) -> Measured {
        let f = &r.figures;
        Measured {
            msgs_per_s: f.throughput_msgs_per_s,
            mb_per_s: f.throughput_mb_per_s,
            latency: f.latency_us,
            curve: plot::percentile_curve(&r.histogram.histogram()),
            ok: f.replies_ok,
            failed: f.errors + f.timeouts,
        }
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

pub(crate) fn finish(h: &Histogram<u64>, ok: u64, size: usize, elapsed: Duration) -> Measured {
    let s = elapsed.as_secs_f64().max(1e-9);
    Measured {
        msgs_per_s: ok as f64 / s,
        mb_per_s: ok as f64 * size as f64 / s / 1e6,
        latency: Latency::of(h),
        curve: plot::percentile_curve(h),
        ok,
        failed: 0,
    }
}

pub(crate) fn record(h: &mut Histogram<u64>, since: Instant) {
    h.saturating_record(since.elapsed().as_micros().max(1) as u64);
}

/// A libzmq DEALER with `window` messages of `size` bytes in flight; the
/// ROUTER echo answers in order, so send times wait in a queue.
pub fn zmq(
    endpoint: &str,
    size: usize,
    window: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::DEALER)?;
    s.set_sndhwm(0)?;
    s.set_rcvhwm(0)?;
    s.set_linger(0)?;
    s.connect(endpoint)?;
    let body = vec![b'x'; size];
    let mut h = histogram();
    let mut sent_at = VecDeque::with_capacity(window);
    let start = Instant::now();
    for _ in 0..window {
        sent_at.push_back(Instant::now());
        s.send(&body[..], 0)?;
    }
    let mut ok = 0u64;
    while let Some(t) = sent_at.pop_front() {
        let reply = s.recv_msg(0)?;
        record(&mut h, t);
        anyhow::ensure!(reply.len() == size, "short echo");
        ok += 1;
        if start.elapsed() < duration {
            sent_at.push_back(Instant::now());
            s.send(&body[..], 0)?;
        }
    }
    Ok(finish(&h, ok, size, start.elapsed()))
}

/// Length-prefixed frames over one TCP connection: a writer thread sends
/// while it has credit, this thread reads the echoes and gives credit back.
pub fn tcp(addr: &str, size: usize, window: usize, duration: Duration) -> anyhow::Result<Measured> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut reader = stream.try_clone()?;
    let (credit_tx, credit_rx) = mpsc::channel::<bool>();
    let (times_tx, times_rx) = mpsc::channel::<Instant>();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut w = stream;
        let mut frame = (size as u32).to_le_bytes().to_vec();
        frame.resize(4 + size, b'x');
        while let Ok(true) = credit_rx.recv() {
            let _ = times_tx.send(Instant::now());
            w.write_all(&frame)?;
        }
        Ok(())
    });
    for _ in 0..window {
        credit_tx.send(true)?;
    }
    let start = Instant::now();
    let mut h = histogram();
    let mut buf = vec![0u8; size];
    let (mut ok, mut outstanding) = (0u64, window);
    while outstanding > 0 {
        let mut len = [0u8; 4];
        reader.read_exact(&mut len)?;
        reader.read_exact(&mut buf)?;
        let t = times_rx.recv()?;
        record(&mut h, t);
        ok += 1;
        if start.elapsed() < duration {
            credit_tx.send(true)?;
        } else {
            outstanding -= 1;
        }
    }
    let _ = credit_tx.send(false);
    let elapsed = start.elapsed();
    let _ = writer.join();
    Ok(finish(&h, ok, size, elapsed))
}

/// HTTP/1.1 keep-alive: one request in flight per connection (HTTP/1.1
/// has no multiplexing), so `window` connections.
pub fn http(
    addr: &str,
    size: usize,
    window: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let addr = addr.to_owned();
    runtime.block_on(async move {
        let body = Bytes::from(serde_json::to_vec(
            &serde_json::json!({"id": 1, "method": "echo", "params": "x".repeat(size)}),
        )?);
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..window {
            let addr = addr.clone();
            let body = body.clone();
            tasks.spawn(async move {
                let stream = tokio::net::TcpStream::connect(&addr).await?;
                stream.set_nodelay(true)?;
                let io = hyper_util::rt::TokioIo::new(stream);
                let (mut send, conn) = hyper::client::conn::http1::handshake(io).await?;
                tokio::spawn(conn);
                let mut h = histogram();
                let mut ok = 0u64;
                while start.elapsed() < duration {
                    let req = hyper::Request::post(format!("http://{addr}/echo"))
                        .header("content-type", "application/json")
                        .header("host", &addr)
                        .body(Full::new(body.clone()))?;
                    let t = Instant::now();
                    let resp = send.send_request(req).await?;
                    let bytes = resp.into_body().collect().await?.to_bytes();
                    record(&mut h, t);
                    anyhow::ensure!(bytes.len() > size, "short HTTP reply");
                    ok += 1;
                }
                anyhow::Ok((h, ok))
            });
        }
        let mut all = histogram();
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            let (h, n) = r??;
            all.add(&h)?;
            ok += n;
        }
        Ok(finish(&all, ok, size, start.elapsed()))
    })
}
