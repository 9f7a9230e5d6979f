//! A ROUTER on a loopback port that tests drive frame by frame.

use std::time::Duration;

use plug::socket::{context, AsyncSocket};
use plug::Frame;

/// Every test that waits on the network does so within this.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A ROUTER with no queue limits and `ZMQ_ROUTER_MANDATORY`, whose every
/// wait has [`DEADLINE`].
pub struct TestRouter {
    pub socket: AsyncSocket,
    pub endpoint: String,
}

impl TestRouter {
    /// Binds on a free loopback port.
    pub fn bind() -> TestRouter {
        TestRouter::bind_at("tcp://127.0.0.1:*")
    }

    /// Binds on `endpoint`.
    pub fn bind_at(endpoint: &str) -> TestRouter {
        let s = context().socket(zmq::ROUTER).unwrap();
        s.set_router_mandatory(true).unwrap();
        s.set_linger(0).unwrap();
        s.set_sndhwm(0).unwrap();
        s.set_rcvhwm(0).unwrap();
        s.bind(endpoint).unwrap();
        let endpoint = s.get_last_endpoint().unwrap().unwrap();
        TestRouter {
            socket: AsyncSocket::new(s).unwrap(),
            endpoint,
        }
    }

    /// The next message, identity first.
    pub async fn recv(&self) -> Vec<Frame> {
        tokio::time::timeout(DEADLINE, self.socket.recv())
            .await
            .expect("router: nothing received before the deadline")
            .unwrap()
    }

    /// Sends `frames`, identity first.
    pub async fn send(&self, frames: Vec<Frame>) {
        tokio::time::timeout(DEADLINE, self.socket.send(frames))
            .await
            .expect("router: send deadline")
            .unwrap()
    }

    /// Receives a bare request and returns (identity, parsed body).
    pub async fn recv_json(&self) -> (Frame, serde_json::Value) {
        let mut m = self.recv().await;
        assert_eq!(m.len(), 2, "expected [identity, body], got {m:?}");
        let body = m.pop().unwrap();
        (m.pop().unwrap(), serde_json::from_slice(&body).unwrap())
    }
}

/// A frame of text.
pub fn f(s: &str) -> Frame {
    Frame::from(s)
}

/// A frame of JSON.
pub fn json_frame(v: serde_json::Value) -> Frame {
    Frame::from(serde_json::to_vec(&v).unwrap())
}

/// Runs `f`, failing the test past [`DEADLINE`].
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(DEADLINE, f)
        .await
        .expect("test deadline")
}
