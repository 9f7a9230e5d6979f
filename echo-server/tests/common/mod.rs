//! Helpers for the echo-server tests: an in-process server on its own
//! runtime and blocking zmq clients whose every receive has a deadline.

#![allow(dead_code)]

use std::thread::JoinHandle;
use std::time::Duration;

use echo_server::Mode;
use plug::server::{ServerConfig, Stats};
use serde_json::Value;

/// How long any single receive in a test may wait.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// An echo server running in a thread of its own until stopped or dropped.
pub struct Server {
    pub endpoint: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Stats>>,
}

impl Server {
    pub fn start(mode: Mode) -> Server {
        Server::start_with(mode, mode.default_config())
    }

    pub fn start_with(mode: Mode, config: ServerConfig) -> Server {
        let (ep_tx, ep_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (socket, endpoint) = plug::server::bind("tcp://127.0.0.1:*").unwrap();
                ep_tx.send(endpoint).unwrap();
                let shutdown = async move {
                    let _ = stopped.await;
                };
                echo_server::run_with(socket, mode, config, shutdown)
                    .await
                    .unwrap()
            })
        });
        let endpoint = ep_rx.recv_timeout(DEADLINE).expect("server bound");
        Server {
            endpoint,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the server and returns its counters.
    pub fn stop(mut self) -> Stats {
        self.stop_inner().expect("server thread")
    }

    fn stop_inner(&mut self) -> Option<Stats> {
        let _ = self.stop.take()?.send(());
        let thread = self.thread.take()?;
        let started = std::time::Instant::now();
        while !thread.is_finished() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not stop"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Some(thread.join().expect("server thread panicked"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop_inner();
        }
    }
}

/// A zmq socket of `kind` connected to `endpoint`, receives bounded by
/// [`DEADLINE`].
pub fn connect(kind: zmq::SocketType, endpoint: &str) -> zmq::Socket {
    connect_with(kind, endpoint, |_| {})
}

/// Like [`connect`], with options set before connecting.
pub fn connect_with(
    kind: zmq::SocketType,
    endpoint: &str,
    setup: impl FnOnce(&zmq::Socket),
) -> zmq::Socket {
    let s = plug::socket::context().socket(kind).unwrap();
    setup(&s);
    s.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
    s.set_sndtimeo(DEADLINE.as_millis() as i32).unwrap();
    s.set_linger(0).unwrap();
    s.connect(endpoint).unwrap();
    s
}

pub fn dealer(endpoint: &str) -> zmq::Socket {
    connect(zmq::DEALER, endpoint)
}

/// A DEALER that reads slowly: tiny receive queue and kernel buffer, and
/// room to pipeline `n` requests.
pub fn slow_reader(endpoint: &str, n: usize) -> zmq::Socket {
    connect_with(zmq::DEALER, endpoint, |s| {
        s.set_rcvhwm(100).unwrap();
        s.set_rcvbuf(4096).unwrap();
        s.set_sndhwm(n as i32).unwrap();
    })
}

/// Sends a multipart message.
pub fn send(s: &zmq::Socket, frames: &[&[u8]]) {
    s.send_multipart(frames.iter().copied(), 0).unwrap();
}

/// Receives a multipart message, panicking after [`DEADLINE`].
pub fn recv(s: &zmq::Socket) -> Vec<Vec<u8>> {
    s.recv_multipart(0)
        .unwrap_or_else(|e| panic!("no message within {DEADLINE:?}: {e}"))
}

/// Whether a message arrives within `wait`.
pub fn nothing_within(s: &zmq::Socket, wait: Duration) -> bool {
    s.poll(zmq::POLLIN, wait.as_millis() as i64).unwrap() == 0
}

/// Sends one bare JSON body and parses the one-frame reply.
pub fn call(s: &zmq::Socket, body: &str) -> Value {
    send(s, &[body.as_bytes()]);
    one_json(s)
}

/// Receives a one-frame JSON reply.
pub fn one_json(s: &zmq::Socket) -> Value {
    let m = recv(s);
    assert_eq!(m.len(), 1, "reply must be one frame: {m:?}");
    serde_json::from_slice(&m[0]).unwrap_or_else(|e| panic!("reply not JSON ({e}): {m:?}"))
}

/// The reply's exact text, for id fidelity checks.
pub fn call_text(s: &zmq::Socket, body: &str) -> String {
    send(s, &[body.as_bytes()]);
    let m = recv(s);
    assert_eq!(m.len(), 1, "{m:?}");
    String::from_utf8(m[0].clone()).unwrap()
}

/// The error code of an error reply.
pub fn code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error reply: {reply}"))
}

/// Checks the server still answers a ping from `s`.
pub fn still_serves(s: &zmq::Socket) {
    let r = call(s, r#"{"id":"alive","method":"ping"}"#);
    assert_eq!(r, serde_json::json!({"id": "alive", "result": "pong"}));
}
