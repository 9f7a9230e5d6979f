//! The sans-I/O codec alone: encoding and decoding one-frame messages of
//! 64 B to 64 KiB, one message per iteration and a batch of 256, beside a
//! plain `memcpy` of the same bytes (the floor for the copying encoder).
//!
//! `cargo bench -p plug-zmtp --bench codec`

use bytes::{Buf, Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use plug_zmtp::{Decoder, Encoder, Inbound, Limits};

const SIZES: [usize; 3] = [64, 1024, 64 << 10];

fn encoded(size: usize, count: usize) -> Bytes {
    let mut e = Encoder::new(usize::MAX);
    for _ in 0..count {
        e.message([Bytes::from(vec![b'x'; size])]).unwrap();
    }
    e.copy_to_bytes(e.remaining())
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for size in SIZES {
        let body = Bytes::from(vec![b'x'; size]);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("one", size), &body, |b, body| {
            let mut e = Encoder::default();
            b.iter(|| {
                e.message([body.clone()]).unwrap();
                let n = e.remaining();
                e.advance(n);
            })
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &body, |b, body| {
            let mut out = BytesMut::with_capacity(size + 16);
            b.iter(|| {
                out.extend_from_slice(body);
                black_box(&out);
                out.clear();
            })
        });
        group.throughput(Throughput::Elements(256));
        group.bench_with_input(BenchmarkId::new("batch256", size), &body, |b, body| {
            let mut e = Encoder::default();
            b.iter(|| {
                for _ in 0..256 {
                    e.message([body.clone()]).unwrap();
                }
                let n = e.remaining();
                e.advance(n);
            })
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for size in SIZES {
        for count in [1, 256] {
            let wire = encoded(size, count);
            let name = if count == 1 { "one" } else { "batch256" };
            group.throughput(Throughput::Elements(count as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &wire, |b, wire| {
                let mut d = Decoder::new(Limits::default());
                // A long-lived read buffer, refilled as a socket read would.
                let mut buf = BytesMut::with_capacity(1 << 20);
                b.iter(|| {
                    if buf.capacity() - buf.len() < wire.len() {
                        buf = BytesMut::with_capacity(1 << 20);
                    }
                    buf.extend_from_slice(wire);
                    let mut n = 0;
                    while let Some(Inbound::Message(m)) = d.decode(&mut buf).unwrap() {
                        black_box(&m);
                        n += 1;
                    }
                    assert_eq!(n, count);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
