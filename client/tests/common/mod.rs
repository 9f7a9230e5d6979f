//! What the fleet tests of the plug share: in-process servers (the real
//! serving loop on either transport, or a scripted ROUTER), waiting for
//! evidence, and reading one endpoint's counters.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plug::server::{self, Methods, ServerConfig, ServerError, SocketOptions, Stats};
use plug::transport::Transport;
use plug::{EndpointStats, Error, PlugStats, RpcPlug};
use plug_test_support::router::{json_frame, TestRouter, DEADLINE};
use serde_json::{json, Value};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The real serving loop (`plug::server::run_rpc`) in a task of the test's
/// runtime, stopped by [`TestServer::shut_down`] as a signal would.
pub struct TestServer {
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<Stats, ServerError>>>,
}

impl TestServer {
    /// Serves `methods` on a free loopback port.
    pub fn start(methods: Methods, transport: Transport) -> TestServer {
        TestServer::start_at("tcp://127.0.0.1:*", methods, transport)
    }

    /// Serves `methods` on `endpoint`.
    pub fn start_at(endpoint: &str, methods: Methods, transport: Transport) -> TestServer {
        let options = SocketOptions::default().transport(transport);
        let (listener, endpoint) =
            server::bind_in(plug::socket::context(), endpoint, &options).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run_rpc(
            listener,
            methods,
            ServerConfig::rpc().drain_timeout(DEADLINE),
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            endpoint,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The shutdown signal: the server starts draining.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits for the loop to return its counters.
    pub async fn stopped(mut self) -> Stats {
        self.shut_down();
        let task = self.task.take().unwrap();
        tokio::time::timeout(DEADLINE, task)
            .await
            .expect("the server did not stop before the deadline")
            .unwrap()
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A ROUTER whose every request gets the JSON bodies `answer` returns
/// (none: no reply), and that keeps every request it received.
pub struct Scripted {
    pub endpoint: String,
    pub seen: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Scripted {
    pub fn start(answer: impl Fn(&Value) -> Vec<Value> + Send + 'static) -> Scripted {
        let router = TestRouter::bind();
        let endpoint = router.endpoint.clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok(mut m) = router.socket.recv().await {
                let body: Value = serde_json::from_slice(&m.pop().unwrap()).unwrap();
                let identity = m.pop().unwrap();
                let replies = answer(&body);
                log.lock().unwrap().push(body);
                for reply in replies {
                    router
                        .socket
                        .send(vec![identity.clone(), json_frame(reply)])
                        .await
                        .unwrap();
                }
            }
        });
        Scripted {
            endpoint,
            seen,
            task,
        }
    }

    /// How many requests with `method` arrived.
    pub fn count(&self, method: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|r| r["method"] == method).count()
    }

    /// The ids of the requests with `method` that arrived.
    pub fn ids(&self, method: &str) -> Vec<Value> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|r| r["method"] == method)
            .map(|r| r["id"].clone())
            .collect()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until `cond` holds, looking every few milliseconds; fails the
/// test, naming `what`, past [`DEADLINE`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The counters of `endpoint` in `plug`'s stats.
pub fn at(plug: &RpcPlug, endpoint: &str) -> EndpointStats {
    let stats = plug.stats();
    find(&stats, endpoint).unwrap_or_else(|| panic!("no endpoint {endpoint} in {stats:#?}"))
}

/// The counters of `endpoint` in `stats`, if the plug has a link to it.
pub fn find(stats: &PlugStats, endpoint: &str) -> Option<EndpointStats> {
    stats
        .per_endpoint
        .iter()
        .find(|e| e.endpoint == endpoint)
        .cloned()
}

/// Waits until `n` endpoints of `plug` are connected.
pub async fn connected(plug: &RpcPlug, n: usize) {
    until(&format!("{n} endpoints connected"), || {
        plug.stats().connected == n as u64
    })
    .await;
}

/// With nothing in flight, every request a link sent ended in exactly one
/// of ok, error or timeout, and the links add up to the plug.
pub fn assert_adds_up(stats: &PlugStats) {
    for e in &stats.per_endpoint {
        assert_eq!(e.in_flight, 0, "{e:?}");
        assert_eq!(e.sent, e.ok + e.errors + e.timeouts, "{e:?}");
    }
    let sum = |f: fn(&EndpointStats) -> u64| stats.per_endpoint.iter().map(f).sum::<u64>();
    assert_eq!(sum(|e| e.sent), stats.sent, "{stats:#?}");
    assert_eq!(sum(|e| e.ok + e.errors), stats.replies, "{stats:#?}");
    // A caller's request that timed out timed out on its last attempt; a
    // retried attempt that timed out is the link's timeout alone.
    assert_eq!(
        sum(|e| e.timeouts),
        stats.timeouts + stats.retries,
        "{stats:#?}"
    );
    assert_eq!(stats.in_flight, 0, "{stats:#?}");
}

/// Holds `hold` requests until opened, and counts those it holds.
#[derive(Default)]
pub struct Gate {
    open: Notify,
    holding: AtomicUsize,
}

impl Gate {
    /// Waits until the servers hold `n` requests: they have read them.
    pub async fn until_holding(&self, n: usize) {
        until(&format!("{n} requests held"), || {
            self.holding.load(Ordering::SeqCst) == n
        })
        .await;
    }

    pub fn open(&self) {
        self.open.notify_waiters();
    }
}

/// `ping`, `whoami` (the server's name) and `hold` (answered once the gate
/// opens; a server that holds one cannot finish its drain, and keeps the
/// connection it came on).
pub fn methods(name: &'static str, gate: Arc<Gate>) -> Methods {
    Methods::new()
        .method("ping", |_: Value| async { Ok(json!("pong")) })
        .method("whoami", move |_: Value| async move { Ok(json!(name)) })
        .method("hold", move |_: Value| {
            let gate = gate.clone();
            async move {
                let opened = gate.open.notified();
                gate.holding.fetch_add(1, Ordering::SeqCst);
                opened.await;
                Ok(json!("released"))
            }
        })
}

/// Sends `hold` on `plug`, in a task.
pub fn hold(plug: &RpcPlug) -> JoinHandle<Result<plug::Reply, Error>> {
    let plug = plug.clone();
    tokio::spawn(async move { plug.request(json!({"method": "hold"})).await })
}
