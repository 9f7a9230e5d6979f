//! What a server binary must do when an orchestrator stops it with
//! SIGTERM: answer what it has in flight, refuse the rest with -32003 so
//! that plugs send it to another replica (nothing is lost), and exit within
//! its `--drain-ms` even when a peer keeps it busy.
//!
//! Used by `echo-server/tests/drain.rs` and `game-server/tests/drain.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use plug::{EndpointStats, PlugBuilder, RpcPlug};
use serde_json::Value;

use crate::process::{ServerCounts, ServerProcess};
use crate::router::DEADLINE;

/// What [`sigterm_under_load`] saw.
#[derive(Debug)]
pub struct UnderLoad {
    /// From SIGTERM to the exit of the stopped replica.
    pub took: Duration,
    /// The stopped replica's counters, as the plug kept them.
    pub plug_side: EndpointStats,
    /// The stopped replica's own counters.
    pub server_side: ServerCounts,
    /// Requests the callers made, all answered.
    pub answered: u64,
    /// The stopped replica's stderr.
    pub stderr: String,
}

/// Two replicas of `bin` (each with `args`) behind one plug, with eight
/// callers sending `request` one after another; SIGTERM to the first once
/// both carry load, and the load goes on until the other has answered more
/// after the first is gone. Checks that every request was answered (none
/// failed, none timed out), that the stopped replica answered everything
/// it received, and that its -32003 refusals are exactly what the plug
/// sent again.
pub fn sigterm_under_load(bin: &str, args: &[&str], request: Value) -> UnderLoad {
    let stopped = ServerProcess::start(bin, "tcp://127.0.0.1:*", args);
    let other = ServerProcess::start(bin, "tcp://127.0.0.1:*", args);
    let (a, b) = (stopped.endpoint.clone(), other.endpoint.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (terminated, plug_side, answered) = runtime.block_on(async {
        tokio::time::timeout(DEADLINE * 2, async {
            let plug = PlugBuilder::new("drain")
                .connect_to(&a)
                .connect_to(&b)
                .timeout(DEADLINE)
                .rpc()
                .unwrap();
            let done = Arc::new(AtomicBool::new(false));
            let answered = Arc::new(AtomicU64::new(0));
            let callers: Vec<_> = (0..8)
                .map(|_| {
                    let (plug, request) = (plug.clone(), request.clone());
                    let (done, answered) = (done.clone(), answered.clone());
                    tokio::spawn(async move {
                        while !done.load(Ordering::Relaxed) {
                            if let Err(e) = plug.request(request.clone()).await {
                                panic!("a request failed: {e}");
                            }
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            until(|| ok(&plug, &a) >= 50 && ok(&plug, &b) >= 50).await;
            let terminated = tokio::task::spawn_blocking(move || stopped.terminate_timed());
            let terminated = terminated.await.unwrap();
            let after = ok(&plug, &b);
            until(|| ok(&plug, &b) >= after + 50).await;
            done.store(true, Ordering::Relaxed);
            for c in callers {
                c.await.expect("a caller failed");
            }
            let plug_side = endpoint(&plug, &a);
            let s = plug.stats();
            assert_eq!(s.timeouts, 0, "{s:#?}");
            assert_eq!(s.sent, s.replies, "{s:#?}");
            (terminated, plug_side, answered.load(Ordering::Relaxed))
        })
        .await
        .expect("the scenario's deadline")
    });
    drop(other);
    let server_side = terminated.counts;
    let e = &plug_side;
    assert_eq!((e.in_flight, e.timeouts), (0, 0), "{e:?}");
    assert_eq!(e.sent, e.ok + e.errors, "{e:?}");
    assert_eq!(server_side.received, e.sent, "{server_side:?} {e:?}");
    assert_eq!(server_side.replied, server_side.received, "{server_side:?}");
    assert_eq!(server_side.error_replies, e.errors, "{server_side:?} {e:?}");
    UnderLoad {
        took: terminated.took,
        plug_side: plug_side.clone(),
        server_side,
        answered,
        stderr: terminated.stderr,
    }
}

/// A peer that sends `n` pings with ids of `id_bytes` bytes each and does
/// not read the replies: the server's writer to it cannot empty, so its
/// drain can only end at the bound. SIGTERM once the first reply is back;
/// returns how the server ended.
///
/// `n * id_bytes` must be well over what the kernel's buffers, the server's
/// writer (4 MiB) and this peer's queue (one message) hold.
pub fn stalled_peer_holds_the_drain(
    bin: &str,
    args: &[&str],
    n: usize,
    id_bytes: usize,
) -> crate::process::Terminated {
    let server = ServerProcess::start(bin, "tcp://127.0.0.1:*", args);
    let s = plug::socket::context().socket(zmq::DEALER).unwrap();
    s.set_rcvhwm(1).unwrap();
    s.set_rcvbuf(4096).unwrap();
    s.set_sndhwm(0).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
    s.connect(&server.endpoint).unwrap();
    let pad = "p".repeat(id_bytes);
    for i in 0..n {
        let body = format!(r#"{{"id":"{i}{pad}","method":"ping"}}"#);
        s.send(body.as_bytes(), 0).unwrap();
    }
    let first: Value = serde_json::from_slice(&s.recv_bytes(0).expect("a reply")).unwrap();
    assert_eq!(first["result"], "pong", "{first}");
    let terminated = server.terminate_timed();
    drop(s);
    terminated
}

fn endpoint(plug: &RpcPlug, endpoint: &str) -> EndpointStats {
    plug.stats()
        .per_endpoint
        .into_iter()
        .find(|e| e.endpoint == endpoint)
        .expect("the endpoint in the plug's stats")
}

fn ok(plug: &RpcPlug, e: &str) -> u64 {
    endpoint(plug, e).ok
}

async fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
