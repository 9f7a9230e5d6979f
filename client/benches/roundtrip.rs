//! Round trip and pipelined throughput of an rpc plug, beside raw libzmq
//! DEALER/ROUTER with no plug code, in the same run; id matching with many
//! replies out of order over `inproc://`; plus the codec's hot paths.
//!
//! Run: `cargo bench -p plug --bench roundtrip` (CI runs it with `-- --test`,
//! once each, so it cannot rot).

use std::hint::black_box;
use std::thread;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::future::join_all;
use plug::protocol::{encode_request, encode_result, parse_request, ReplyBody};
use plug::socket::context;
use plug::{Frame, PlugBuilder};
use serde_json::{json, Value};

/// A blocking ROUTER on a loopback port; `reply` turns a body into a reply.
fn spawn_router(reply: fn(&[u8]) -> Vec<u8>) -> String {
    let s = context().socket(zmq::ROUTER).unwrap();
    s.set_sndhwm(0).unwrap();
    s.set_rcvhwm(0).unwrap();
    s.set_router_mandatory(true).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = s.get_last_endpoint().unwrap().unwrap();
    thread::spawn(move || loop {
        let ident = s.recv_msg(0).unwrap();
        let body = s.recv_msg(0).unwrap();
        s.send(ident, zmq::SNDMORE).unwrap();
        s.send(reply(&body), 0).unwrap();
    });
    endpoint
}

fn echo_bytes(body: &[u8]) -> Vec<u8> {
    body.to_vec()
}

fn echo_rpc(body: &[u8]) -> Vec<u8> {
    let req = parse_request(&[Frame::from(body)]).unwrap();
    encode_result(req.id.as_ref(), req.is_jsonrpc(), req.params())
}

fn payload(size: usize) -> String {
    "x".repeat(size)
}

fn roundtrip(c: &mut Criterion) {
    let raw_ep = spawn_router(echo_bytes);
    let rpc_ep = spawn_router(echo_rpc);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let plug = rt.block_on(async {
        PlugBuilder::new("bench")
            .connect_to(&rpc_ep)
            .high_water_mark(0)
            .rpc()
            .unwrap()
    });
    let dealer = context().socket(zmq::DEALER).unwrap();
    dealer.set_sndhwm(0).unwrap();
    dealer.set_rcvhwm(0).unwrap();
    dealer.connect(&raw_ep).unwrap();

    let mut group = c.benchmark_group("roundtrip");
    for size in [64usize, 1024] {
        let text = payload(size);
        let raw_body =
            serde_json::to_vec(&json!({"id": 1, "method": "echo", "params": text})).unwrap();
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(
            BenchmarkId::new("raw_libzmq", size),
            &raw_body,
            |b, body| {
                b.iter(|| {
                    dealer.send(&body[..], 0).unwrap();
                    black_box(dealer.recv_msg(0).unwrap());
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("plug_rpc", size), &text, |b, text| {
            b.to_async(&rt).iter(|| async {
                let reply = plug
                    .request(json!({"method": "echo", "params": text}))
                    .await
                    .unwrap();
                black_box(reply);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("pipelined");
    let text = payload(64);
    let raw_body = serde_json::to_vec(&json!({"id": 1, "method": "echo", "params": text})).unwrap();
    for window in [16usize, 256] {
        group.throughput(Throughput::Elements(window as u64));
        group.bench_with_input(BenchmarkId::new("raw_libzmq", window), &window, |b, &w| {
            b.iter(|| {
                for _ in 0..w {
                    dealer.send(&raw_body[..], 0).unwrap();
                }
                for _ in 0..w {
                    black_box(dealer.recv_msg(0).unwrap());
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("plug_rpc", window), &window, |b, &w| {
            b.to_async(&rt).iter(|| async {
                let calls =
                    (0..w).map(|_| plug.request(json!({"method": "echo", "params": &text})));
                for r in join_all(calls).await {
                    black_box(r.unwrap());
                }
            })
        });
    }
    group.finish();
}

/// A blocking ROUTER on `inproc://` that collects `batch` requests and
/// answers them in reverse order, so replies complete out of order.
fn spawn_reversing_router(endpoint: &'static str, batch: usize) {
    let s = context().socket(zmq::ROUTER).unwrap();
    s.set_sndhwm(0).unwrap();
    s.set_rcvhwm(0).unwrap();
    s.bind(endpoint).unwrap();
    thread::spawn(move || loop {
        let mut held = Vec::with_capacity(batch);
        for _ in 0..batch {
            let ident = s.recv_msg(0).unwrap();
            let body = s.recv_msg(0).unwrap();
            held.push((ident, echo_rpc(&body)));
        }
        for (ident, reply) in held.into_iter().rev() {
            s.send(ident, zmq::SNDMORE).unwrap();
            s.send(reply, 0).unwrap();
        }
    });
}

/// Id matching: `n` requests in flight over `inproc://` (no TCP), answered
/// in reverse order, so every reply is looked up in a pending table of up
/// to `n` entries. Regressions in the pending table or the reader show
/// here without the noise of the network.
fn matching(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("matching");
    for (n, endpoint) in [
        (1usize, "inproc://bench-match-1"),
        (64, "inproc://bench-match-64"),
        (1024, "inproc://bench-match-1024"),
    ] {
        spawn_reversing_router(endpoint, n);
        let plug = rt.block_on(async {
            PlugBuilder::new("match")
                .connect_to(endpoint)
                .high_water_mark(0)
                .rpc()
                .unwrap()
        });
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("out_of_order", n), &n, |b, &n| {
            b.to_async(&rt).iter(|| async {
                let calls = (0..n).map(|_| plug.request(json!({"method": "ping"})));
                for r in join_all(calls).await {
                    black_box(r.unwrap());
                }
            })
        });
    }
    group.finish();
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    let Value::Object(request): Value =
        json!({"method": "moveCar", "user_id": 21, "position": [3, 4]})
    else {
        unreachable!()
    };
    group.bench_function("encode_request", |b| {
        b.iter(|| black_box(encode_request(black_box(request.clone()), Some(42))))
    });
    let request_body = Frame::from(encode_request(request.clone(), Some(42)));
    group.bench_function("parse_request", |b| {
        b.iter(|| black_box(parse_request(std::slice::from_ref(&request_body)).unwrap()))
    });
    let reply = br#"{"id":42,"result":{"user_id":21,"position":[3,4],"speed":1.5}}"#;
    group.bench_function("parse_reply", |b| {
        b.iter(|| {
            let r = ReplyBody::parse(black_box(reply)).unwrap();
            black_box(r.counter_id());
        })
    });
    let req = parse_request(std::slice::from_ref(&request_body)).unwrap();
    let result = json!({"user_id": 21, "position": [3, 4], "speed": 1.5});
    group.bench_function("encode_result", |b| {
        b.iter(|| black_box(encode_result(req.id.as_ref(), false, black_box(&result))))
    });
    for size in [64usize, 1024, 65536] {
        let body = echo_rpc(
            &serde_json::to_vec(&json!({"id": 7, "method": "echo", "params": payload(size)}))
                .unwrap(),
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("parse_echo_reply", size),
            &body,
            |b, body| {
                b.iter(|| {
                    let r = ReplyBody::parse(black_box(body)).unwrap();
                    black_box(r.counter_id());
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, roundtrip, matching, codec);
criterion_main!(benches);
