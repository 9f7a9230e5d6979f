//! A `dns+tcp://` endpoint whose address leaves the name (a pod deleted, a
//! replica scaled away): the plug sends it nothing new, the requests it
//! holds end with their replies, and then the link is closed. Real DNS
//! (dnsmasq, on loopback) and the real serving loop, in this process, on
//! two loopback addresses of a test bed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use plug::transport::Transport;
use plug::{LinkState, PlugBuilder};
use plug_test_support::router::{within, DEADLINE};
use plug_test_support::testbed::{dnsmasq_available, port_of, TestBed, DNSMASQ};
use serde_json::json;

use common::{assert_adds_up, at, connected, find, hold, methods, until, Gate, TestServer};

const NAME: &str = "replicas.plug.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_endpoint_drains_without_losing_its_requests_in_flight() {
    if !dnsmasq_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{DNSMASQ} is missing (apt-get install dnsmasq-base)"
        );
        eprintln!("!!! SKIPPED: {DNSMASQ} is missing (apt-get install dnsmasq-base)");
        return;
    }
    let mut bed = TestBed::on_loopback(2);
    let (a_addr, b_addr) = (bed.host(0).addr(), bed.host(1).addr());
    let gate = Arc::new(Gate::default());
    let leaving = TestServer::start_at(
        &format!("tcp://{a_addr}:*"),
        methods("leaving", gate.clone()),
        Transport::Native,
    );
    let port = port_of(&leaving.endpoint);
    let staying = TestServer::start_at(
        &bed.host(1).endpoint(port),
        methods("staying", gate.clone()),
        Transport::Native,
    );
    let (gone, kept) = (leaving.endpoint.clone(), staying.endpoint.clone());
    bed.dns().set(NAME, &[a_addr, b_addr]);
    let plug = PlugBuilder::new("discovered")
        .connect_to(format!("dns+tcp://{NAME}:{port}"))
        .timeout(DEADLINE)
        .discovery_refresh(Duration::from_millis(100))
        .discovery_nameserver(bed.dns().addr())
        .rpc()
        .unwrap();
    connected(&plug, 2).await;

    // One request held by each server: the second goes where the first is
    // not (fewest in flight).
    let first = hold(&plug);
    gate.until_holding(1).await;
    let second = hold(&plug);
    gate.until_holding(2).await;
    assert_eq!(at(&plug, &gone).in_flight, 1);
    assert_eq!(at(&plug, &kept).in_flight, 1);

    // The address leaves the name: the link drains (it gets no new request)
    // while its request is still held by the server.
    bed.dns().set(NAME, &[b_addr]);
    until("the vanished endpoint draining", || {
        let s = plug.stats();
        s.discovery[0].endpoints == [kept.clone()]
            && find(&s, &gone).is_some_and(|e| e.state == LinkState::Draining)
    })
    .await;
    assert_eq!(plug.stats().endpoints, 1);
    for _ in 0..10 {
        let reply = within(plug.request(json!({"method": "whoami"})))
            .await
            .unwrap();
        assert_eq!(reply.result(), "staying");
    }

    let draining = at(&plug, &gone);
    assert_eq!((draining.sent, draining.in_flight), (1, 1), "{draining:?}");

    // What it held is answered, by the server that held it; then the link
    // is closed and leaves the stats.
    gate.open();
    for h in [first, second] {
        assert_eq!(within(h).await.unwrap().unwrap().result(), "released");
    }
    let mut last = draining;
    until("the vanished link closed", || {
        match find(&plug.stats(), &gone) {
            Some(e) => {
                last = e;
                false
            }
            None => true,
        }
    })
    .await;
    assert_eq!((last.sent, last.ok, last.in_flight), (1, 1, 0), "{last:?}");
    let s = plug.stats();
    assert_eq!((s.sent, s.replies, s.timeouts), (12, 12, 0), "{s:#?}");
    assert_eq!(s.disconnects, 0, "{s:#?}");
    assert_adds_up(&with_departed(&s, &last));
    let left = leaving.stopped().await;
    assert_eq!((left.received, left.replied), (1, 1), "{left}");
    assert_eq!(left.error_replies, 0, "{left}");
    let kept_stats = at(&plug, &kept);
    assert_eq!((kept_stats.sent, kept_stats.ok), (11, 11), "{kept_stats:?}");
    drop(staying);
}

/// `stats` as if `departed` still reported: the plug's totals count every
/// link it ever had.
fn with_departed(stats: &plug::PlugStats, departed: &plug::EndpointStats) -> plug::PlugStats {
    let mut all = stats.clone();
    all.per_endpoint.push(departed.clone());
    all
}
