//! Discovery with hickory's real resolver, needing no DNS server: the system
//! configuration answers `localhost` from /etc/hosts, and a stand-in server
//! that answers every query with an error makes counted failures. The real DNS server (dnsmasq) tests are in test-support.

use std::time::Duration;

use plug::{Discovery, DiscoveryConfig, DiscoveryError, DnsTarget};
use plug_test_support::router::DEADLINE;

fn target(ep: &str) -> DnsTarget {
    ep.parse().unwrap()
}

#[tokio::test]
async fn system_configuration_resolves_localhost() {
    let d = Discovery::start(
        target("dns+tcp://localhost:9000"),
        &DiscoveryConfig::default(),
    )
    .unwrap();
    let mut rx = d.endpoints();
    let set = tokio::time::timeout(DEADLINE, rx.wait_for(|e| !e.is_empty()))
        .await
        .expect("localhost not resolved before the deadline")
        .unwrap()
        .clone();
    assert!(set.contains(&"tcp://127.0.0.1:9000".to_owned()), "{set:?}");
    assert!(
        set.iter()
            .all(|e| e == "tcp://127.0.0.1:9000" || e == "tcp://[::1]:9000"),
        "{set:?}"
    );
    let s = d.stats();
    assert_eq!(s.endpoints, set);
    assert_eq!(s.target, "dns+tcp://localhost:9000");
    assert_eq!(s.failures, 0);
}

/// A DNS server that answers every query with `rcode` and no record.
async fn answer_all_with(rcode: u8) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80; // QR: a response
            reply[3] = (reply[3] & 0xf0) | rcode;
            let _ = socket.send_to(&reply, from).await;
        }
    });
    (addr, task)
}

#[tokio::test]
async fn failing_answers_are_counted_and_publish_nothing() {
    for (rcode, what) in [(2, "SERVFAIL"), (3, "NXDOMAIN")] {
        let (server, task) = answer_all_with(rcode).await;
        let config = DiscoveryConfig {
            refresh: Duration::from_millis(100),
            nameserver: Some(server),
        };
        let d = Discovery::start(target("dns+tcp://fleet.plug.test:9000"), &config).unwrap();
        let started = tokio::time::Instant::now();
        while d.stats().failures < 2 {
            assert!(
                started.elapsed() < DEADLINE,
                "{what}: no failures counted: {:?}",
                d.stats()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let s = d.stats();
        assert!(s.endpoints.is_empty(), "{what}: {s:?}");
        assert_eq!(s.changes, 0, "{what}: {s:?}");
        assert!(s.last_error.is_some(), "{what}: {s:?}");
        assert!(!d.endpoints().has_changed().unwrap(), "{what}");
        task.abort();
    }
}

#[test]
fn needs_a_runtime_and_valid_settings() {
    let e = Discovery::start(
        target("dns+tcp://localhost:9000"),
        &DiscoveryConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(e, DiscoveryError::NoRuntime), "{e}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _enter = rt.enter();
    let config = DiscoveryConfig {
        refresh: Duration::ZERO,
        ..DiscoveryConfig::default()
    };
    let e = Discovery::start(target("dns+tcp://localhost:9000"), &config).unwrap_err();
    match e {
        DiscoveryError::Config(c) => assert_eq!(c.key, "discovery_refresh_ms"),
        other => panic!("{other}"),
    }
}
