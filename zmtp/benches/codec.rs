//! The sans-I/O codec alone: encoding and decoding one-frame messages of
//! 64 B to 64 KiB, one message per iteration and a batch of 256, beside a
//! plain `memcpy` of the same bytes (the floor for the copying encoder).
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`),
//! not wall time: on a machine shared with builds, time spent waiting for a
//! core does not count.
//!
//! `cargo bench -p plug-zmtp --bench codec`

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use plug_zmtp::{Decoder, Encoder, Inbound, Limits};

const SIZES: [usize; 3] = [64, 1024, 64 << 10];

fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `f` `iters` times; returns the CPU time it took.
fn cpu(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        f();
    }
    thread_cpu_time() - start
}

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
            b.iter_custom(|iters| {
                cpu(iters, || {
                    e.message([body.clone()]).unwrap();
                    let n = e.remaining();
                    e.advance(n);
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &body, |b, body| {
            let mut out = BytesMut::with_capacity(size + 16);
            b.iter_custom(|iters| {
                cpu(iters, || {
                    out.extend_from_slice(body);
                    black_box(&out);
                    out.clear();
                })
            })
        });
        group.throughput(Throughput::Elements(256));
        group.bench_with_input(BenchmarkId::new("batch256", size), &body, |b, body| {
            let mut e = Encoder::default();
            b.iter_custom(|iters| {
                cpu(iters, || {
                    for _ in 0..256 {
                        e.message([body.clone()]).unwrap();
                    }
                    let n = e.remaining();
                    e.advance(n);
                })
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
                // A long-lived read buffer, refilled as the reader does it:
                // room for a 64 KiB read, reclaimed once its frames are gone.
                let mut buf = BytesMut::new();
                b.iter_custom(|iters| {
                    cpu(iters, || {
                        buf.reserve(wire.len().max(64 << 10));
                        buf.extend_from_slice(wire);
                        let mut n = 0;
                        while let Some(Inbound::Message(m)) = d.decode(&mut buf).unwrap() {
                            black_box(&m);
                            n += 1;
                        }
                        assert_eq!(n, count);
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
