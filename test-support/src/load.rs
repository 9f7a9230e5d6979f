//! Many plugs at once against a server binary: every request must come
//! back with its own expected result; the counts and the peak memory of
//! client and server are printed.
//!
//! The plugs live in [`CHILDREN`] child processes (the test binary itself,
//! running its `load_child` test), because the shared libzmq context of
//! `plug` allows 1023 sockets and each plug takes three (DEALER, monitor,
//! monitor reader). Each child opens its share of plugs and says so; once
//! every plug of every child is connected the parent says go, so all the
//! connections are open at once while the requests run.
//!
//! Used by `echo-server/tests/load.rs` and `game-server/tests/load.rs`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use plug::{PlugBuilder, RpcPlug};
use serde_json::Value;

use crate::process::{peak_memory_kib, raise_nofile, ServerCounts, ServerProcess};

/// Client processes the connections are spread over.
pub const CHILDREN: usize = 4;

/// One request and the result it must come back with.
pub type Call = (Value, Want);

/// What the result of a request must be.
#[derive(Clone, Debug)]
pub enum Want {
    /// Exactly this value.
    Exactly(Value),
    /// An object whose member has this value.
    Member(&'static str, Value),
}

impl Want {
    fn matches(&self, result: &Value) -> bool {
        match self {
            Want::Exactly(v) => result == v,
            Want::Member(k, v) => result.get(k) == Some(v),
        }
    }
}

/// What a load run saw.
#[derive(Debug)]
pub struct Report {
    pub connections: usize,
    pub sent: u64,
    pub answered: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub client_peak_kib: u64,
    pub server_peak_kib: u64,
    pub server: ServerCounts,
}

/// Runs the load: `connections` plugs in [`CHILDREN`] processes (each the
/// test binary running the test named `child_test`), `per_conn` requests
/// each after its setup calls, `window` in flight per plug. Stops the
/// server, prints the counts and peak memory, and panics on any lost or
/// wrong reply.
pub fn run(
    server: ServerProcess,
    child_test: &str,
    connections: usize,
    per_conn: usize,
    window: usize,
    deadline: Duration,
) -> Report {
    let files = raise_nofile(65_536);
    assert!(files as usize >= connections * 4, "open-file limit {files}");
    let share = connections / CHILDREN;
    let until = Instant::now() + deadline;
    let mut children: Vec<_> = (0..CHILDREN)
        .map(|c| {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", child_test, "--ignored", "--nocapture"])
                .env("LOAD_ENDPOINT", &server.endpoint)
                .env("LOAD_FIRST", (c * share).to_string())
                .env("LOAD_CONNECTIONS", share.to_string())
                .env("LOAD_PER_CONN", per_conn.to_string())
                .env("LOAD_WINDOW", window.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("a load child starts");
            let (tx, rx) = std::sync::mpsc::channel();
            let out = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if line.starts_with("LOAD ") {
                        let _ = tx.send(line);
                    }
                }
            });
            (child, rx)
        })
        .collect();
    let wait_line = |rx: &std::sync::mpsc::Receiver<String>| {
        let left = until.saturating_duration_since(Instant::now());
        rx.recv_timeout(left)
            .expect("a line from a load child before the deadline")
    };
    for (_, rx) in &children {
        assert_eq!(wait_line(rx), "LOAD connected");
    }
    // Every plug of every child is connected now: go.
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }
    let (mut sent, mut answered, mut failed) = (0, 0, 0);
    let (mut elapsed, mut client_peak_kib) = (Duration::ZERO, 0);
    for (child, rx) in &mut children {
        let line = wait_line(rx);
        let n: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let [s, a, f, ms, kib] = n[..] else {
            panic!("unexpected line {line:?}")
        };
        sent += s;
        answered += a;
        failed += f;
        elapsed = elapsed.max(Duration::from_millis(ms));
        client_peak_kib += kib;
        assert!(child.wait().unwrap().success(), "a load child failed");
    }
    let server_peak_kib = server.peak_memory_kib();
    let counts = server.terminate();
    eprintln!(
        "{connections} connections ({CHILDREN} client processes): sent {sent}, answered {answered}, \
         failed {failed} in {elapsed:.2?} ({:.0}/s); peak memory (VmHWM): clients {} MiB in all, \
         server {} MiB; server: {counts:?}",
        sent as f64 / elapsed.as_secs_f64(),
        client_peak_kib / 1024,
        server_peak_kib / 1024,
    );
    assert_eq!(failed, 0, "lost or wrong replies");
    assert_eq!(answered, sent);
    assert!(sent >= (connections * per_conn) as u64);
    assert_eq!(counts.received, sent);
    assert_eq!(counts.replied, sent);
    assert_eq!(counts.error_replies, 0);
    Report {
        connections,
        sent,
        answered,
        failed,
        elapsed,
        client_peak_kib,
        server_peak_kib,
        server: counts,
    }
}

fn env(name: &str) -> usize {
    std::env::var(name).unwrap().parse().unwrap()
}

/// The child side: does nothing unless run by [`run`].
pub fn child(
    setup: impl Fn(usize) -> Vec<Call> + Send + Sync + 'static,
    calls: impl Fn(usize, usize) -> Call + Send + Sync + 'static,
) {
    let Ok(endpoint) = std::env::var("LOAD_ENDPOINT") else {
        return;
    };
    let (first, connections) = (env("LOAD_FIRST"), env("LOAD_CONNECTIONS"));
    let (per_conn, window) = (env("LOAD_PER_CONN"), env("LOAD_WINDOW"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let setup = std::sync::Arc::new(setup);
    let calls = std::sync::Arc::new(calls);
    runtime.block_on(async move {
        let plugs: Vec<RpcPlug> = (first..first + connections)
            .map(|i| {
                PlugBuilder::new(format!("load{i}"))
                    .connect_to(&endpoint)
                    .timeout(Duration::from_secs(120))
                    .rpc()
                    .expect("open a plug")
            })
            .collect();
        let connected_by = Instant::now() + Duration::from_secs(60);
        while plugs.iter().any(|p| !p.stats().is_connected()) {
            assert!(Instant::now() < connected_by, "not every plug connected");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!("LOAD connected");
        let mut go = String::new();
        std::io::stdin().read_line(&mut go).unwrap();
        let started = Instant::now();
        let tasks: Vec<_> = plugs
            .iter()
            .enumerate()
            .map(|(i, plug)| {
                let conn = first + i;
                let plug = plug.clone();
                let setup = setup.clone();
                let calls = calls.clone();
                tokio::spawn(async move {
                    let (mut sent, mut answered, mut failed) = (0u64, 0u64, 0u64);
                    let mut check = |r: Result<plug::Reply, plug::Error>, want: &Want| {
                        sent += 1;
                        match r {
                            Ok(reply) if want.matches(reply.result()) => answered += 1,
                            other => {
                                if failed == 0 {
                                    eprintln!("connection {conn}: {other:?}, wanted {want:?}");
                                }
                                failed += 1
                            }
                        }
                    };
                    for (request, want) in setup(conn) {
                        check(plug.request(request).await, &want);
                    }
                    let mut replies = stream::iter(0..per_conn)
                        .map(|n| {
                            let (request, want) = calls(conn, n);
                            let plug = plug.clone();
                            async move { (plug.request(request).await, want) }
                        })
                        .buffer_unordered(window);
                    while let Some((r, want)) = replies.next().await {
                        check(r, &want);
                    }
                    (sent, answered, failed)
                })
            })
            .collect();
        let (mut sent, mut answered, mut failed) = (0, 0, 0);
        for t in tasks {
            let (s, a, f) = t.await.unwrap();
            sent += s;
            answered += a;
            failed += f;
        }
        let elapsed = started.elapsed();
        for p in &plugs {
            let s = p.stats();
            assert_eq!((s.in_flight, s.timeouts, s.unmatched), (0, 0, 0), "{s:?}");
        }
        let kib = peak_memory_kib(std::process::id() as i32);
        println!(
            "LOAD sent {sent} answered {answered} failed {failed} ms {} kib {kib}",
            elapsed.as_millis()
        );
    });
}
