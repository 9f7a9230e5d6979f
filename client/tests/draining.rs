//! A server that is shutting down answers new requests -32003 ("shutting
//! down; not run"): the plug sends such a request to another server, sends
//! no more to that one, and never hands -32003 to its caller. With no other
//! server, the request waits for one (the same address, restarted) or
//! times out. Both serving loops, native and libzmq, drain the same way.

mod common;

use std::sync::Arc;
use std::time::Duration;

use plug::protocol::codes;
use plug::transport::Transport;
use plug::{Error, LinkState, PlugBuilder};
use plug_test_support::router::{within, DEADLINE};
use serde_json::{json, Value};

use common::{assert_adds_up, at, connected, hold, methods, until, Gate, TestServer};

/// A libzmq DEALER connected to `endpoint` (before the server stops taking
/// connections), to ask it directly what it answers.
struct Probe(zmq::Socket);

impl Probe {
    fn connect(endpoint: &str) -> Probe {
        let s = plug::socket::context().socket(zmq::DEALER).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
        s.connect(endpoint).unwrap();
        Probe(s)
    }

    /// The error code of the reply to a `ping`, or `None` for a result.
    fn ping(&self) -> Option<i64> {
        self.0.send(r#"{"id":1,"method":"ping"}"#, 0).unwrap();
        let reply: Value = serde_json::from_slice(&self.0.recv_bytes(0).unwrap()).unwrap();
        reply["error"]["code"].as_i64()
    }
}

/// Waits until the server behind `probe` answers -32003.
async fn until_draining(probe: Probe) -> Probe {
    tokio::task::spawn_blocking(move || {
        while probe.ping() != Some(codes::SHUTTING_DOWN) {}
        probe
    })
    .await
    .unwrap()
}

async fn refused_request_succeeds_on_another(transport: Transport) {
    let gate = Arc::new(Gate::default());
    let mut draining = TestServer::start(methods("draining", gate.clone()), transport);
    let other = TestServer::start(methods("other", gate.clone()), transport);
    let probe = Probe::connect(&draining.endpoint);
    assert_eq!(tokio::task::block_in_place(|| probe.ping()), None);
    let plug = PlugBuilder::new("drain")
        .connect_to(&draining.endpoint)
        .connect_to(&other.endpoint)
        .timeout(DEADLINE)
        .rpc()
        .unwrap();
    connected(&plug, 2).await;
    // One held request on each server (the second goes where the first is
    // not): the draining one keeps this plug's connection through its drain.
    let held = [hold(&plug), hold(&plug)];
    gate.until_holding(2).await;
    assert_eq!(at(&plug, &draining.endpoint).in_flight, 1);

    draining.shut_down();
    let _probe = until_draining(probe).await;

    // Ties go in turn: one of the first two requests goes to the draining
    // server, is refused, and is answered by the other; after it, every
    // request goes to the other.
    for _ in 0..10 {
        let reply = within(plug.request(json!({"method": "whoami"})))
            .await
            .unwrap();
        assert_eq!(reply.result(), "other");
    }
    let refused = at(&plug, &draining.endpoint);
    assert_eq!(refused.state, LinkState::Draining, "{refused:?}");
    assert_eq!((refused.sent, refused.errors), (2, 1), "{refused:?}");
    assert_eq!(at(&plug, &other.endpoint).ok, 10);

    // What was in flight when the drain began is answered.
    gate.open();
    for h in held {
        assert_eq!(within(h).await.unwrap().unwrap().result(), "released");
    }
    let s = plug.stats();
    assert_eq!((s.sent, s.replies, s.timeouts), (13, 13, 0), "{s:#?}");
    assert_adds_up(&s);
    let stats = draining.stopped().await;
    // Refused: the probe's ping that saw the drain, and the plug's request.
    assert_eq!(stats.received, stats.replied, "{stats}");
    assert_eq!(stats.error_replies, 2, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_by_a_draining_server_succeeds_on_another() {
    refused_request_succeeds_on_another(Transport::Native).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_by_a_draining_libzmq_server_succeeds_on_another() {
    refused_request_succeeds_on_another(Transport::Libzmq).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alone_a_refused_request_waits_for_the_server_to_come_back_or_times_out() {
    let gate = Arc::new(Gate::default());
    let mut first = TestServer::start(methods("first", gate.clone()), Transport::Native);
    let endpoint = first.endpoint.clone();
    let probe = Probe::connect(&endpoint);
    assert_eq!(tokio::task::block_in_place(|| probe.ping()), None);
    let plug = |name: &str, timeout: Duration| {
        PlugBuilder::new(name)
            .connect_to(&endpoint)
            .timeout(timeout)
            .rpc()
            .unwrap()
    };
    let hasty = plug("hasty", Duration::from_millis(300));
    let patient = plug("patient", DEADLINE);
    // Each has a request held by the server, which keeps its connection
    // open through the drain (the hasty one's times out meanwhile).
    let held = [hold(&hasty), hold(&patient)];
    gate.until_holding(2).await;
    first.shut_down();
    let _probe = until_draining(probe).await;

    let waiting = {
        let p = patient.clone();
        tokio::spawn(async move { p.request(json!({"method": "whoami"})).await })
    };
    // Refused, with nowhere else to go: a timeout, never -32003.
    let err = hasty
        .request(json!({"method": "whoami"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { id: Some(_), .. }), "{err}");
    let e = at(&hasty, &endpoint);
    assert_eq!(e.state, LinkState::Draining, "{e:?}");
    assert_eq!((e.sent, e.errors, e.timeouts), (2, 1, 1), "{e:?}");

    // The patient request, refused too, waits: the server finishes its
    // drain and goes, another starts on the same address (the port the OS
    // gave the first), and the request is answered there in time.
    until("the patient request refused", || {
        at(&patient, &endpoint).errors == 1
    })
    .await;
    assert_eq!(at(&patient, &endpoint).state, LinkState::Draining);
    gate.open();
    let [hasty_held, patient_held] = held;
    assert!(within(hasty_held).await.unwrap().unwrap_err().is_timeout());
    assert_eq!(
        within(patient_held).await.unwrap().unwrap().result(),
        "released"
    );
    first.stopped().await;
    let _second = TestServer::start_at(&endpoint, methods("second", gate), Transport::Native);
    let reply = within(waiting).await.unwrap().unwrap();
    assert_eq!(reply.result(), "second");
    let e = at(&patient, &endpoint);
    assert_eq!(e.state, LinkState::Connected, "{e:?}");
    assert_eq!((e.sent, e.ok, e.errors), (3, 2, 1), "{e:?}");
    assert_adds_up(&patient.stats());
}
