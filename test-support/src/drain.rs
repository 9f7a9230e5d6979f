//! What a server binary must do when an orchestrator stops it with
//! SIGTERM: answer what it has in flight, refuse the rest with -32003 so
//! that plugs send it to another replica (nothing is lost), and exit within
//! its `--drain-ms` even when a peer keeps it busy.
//!
//! Used by `echo-server/tests/drain.rs` and `game-server/tests/drain.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plug::{EndpointStats, PlugBuilder, RpcPlug};
use serde_json::Value;

use plug::server::Stats;

use crate::process::ServerProcess;
use crate::router::DEADLINE;

/// What [`sigterm_under_load`] saw.
#[derive(Debug)]
pub struct UnderLoad {
    /// From SIGTERM to the exit of the stopped replica.
    pub took: Duration,
    /// The stopped replica's counters, as the plug kept them.
    pub plug_side: EndpointStats,
    /// The stopped replica's own counters.
    pub server_side: Stats,
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
        let plug = PlugBuilder::new("drain")
            .connect_to(&a)
            .connect_to(&b)
            .timeout(DEADLINE)
            .rpc()
            .unwrap();
        let load = Arc::new(Load::default());
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (plug, request, load) = (plug.clone(), request.clone(), load.clone());
                tokio::spawn(async move {
                    while !load.done.load(Ordering::SeqCst) {
                        match plug.request(request.clone()).await {
                            Ok(_) => load.answered.fetch_add(1, Ordering::SeqCst),
                            Err(e) => {
                                load.failed.lock().unwrap().get_or_insert(e.to_string());
                                return;
                            }
                        };
                    }
                })
            })
            .collect();
        until("both replicas answering", &plug, &load, || {
            ok(&plug, &a) >= 50 && ok(&plug, &b) >= 50
        })
        .await;
        let terminated = tokio::task::spawn_blocking(move || stopped.terminate_timed());
        let terminated = terminated.await.unwrap();
        let after = ok(&plug, &b);
        until(
            "the other replica answering after the exit",
            &plug,
            &load,
            || ok(&plug, &b) >= after + 50,
        )
        .await;
        load.done.store(true, Ordering::SeqCst);
        for c in callers {
            tokio::time::timeout(DEADLINE, c)
                .await
                .expect("a caller still waits")
                .unwrap();
        }
        assert_eq!(*load.failed.lock().unwrap(), None);
        let plug_side = endpoint(&plug, &a);
        let s = plug.stats();
        assert_eq!(s.timeouts, 0, "{s:#?}");
        assert_eq!(s.sent, s.replies, "{s:#?}");
        (terminated, plug_side, load.answered.load(Ordering::SeqCst))
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

/// The callers' tally.
#[derive(Default)]
struct Load {
    done: AtomicBool,
    answered: AtomicU64,
    /// The first request that failed, and why.
    failed: Mutex<Option<String>>,
}

/// Waits until `cond` holds; fails at once when a caller's request failed,
/// and past [`DEADLINE`] naming `what`.
async fn until(what: &str, plug: &RpcPlug, load: &Load, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !cond() {
        if let Some(e) = load.failed.lock().unwrap().as_ref() {
            panic!("a request failed while waiting for {what}: {e}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}: {:#?}",
            plug.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
