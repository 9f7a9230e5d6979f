//! Many pipelined requests from several clients: every one gets exactly
//! one reply. The normal run sends 100,000; the full 1,000,000 run is
//!
//! ```text
//! cargo test --release -p echo-server --test pipelined -- --ignored --nocapture
//! ```

mod common;

use std::time::Instant;

use common::*;
use echo_server::Mode;

/// Requests each client keeps in flight: below the server's 1024 per peer.
const WINDOW: usize = 1000;

fn pipeline(total: usize, clients: usize) {
    let server = Server::start(Mode::Rpc);
    let per_client = total / clients;
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let endpoint = server.endpoint.clone();
            std::thread::spawn(move || {
                let s = dealer(&endpoint);
                let mut seen = vec![false; per_client];
                let (mut sent, mut got) = (0, 0);
                while got < per_client {
                    while sent < per_client && sent - got < WINDOW {
                        let body =
                            format!(r#"{{"id":{sent},"method":"echo","params":[{c},{sent}]}}"#);
                        send(&s, &[body.as_bytes()]);
                        sent += 1;
                    }
                    let r = one_json(&s);
                    let id = r["id"].as_u64().expect("integer id") as usize;
                    assert_eq!(r["result"], serde_json::json!([c, id]), "{r}");
                    assert!(!seen[id], "client {c}: duplicate reply {id}");
                    seen[id] = true;
                    got += 1;
                }
                // No reply missing; none extra either: the server's count
                // of replies is checked below.
                assert!(seen.iter().all(|s| *s));
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let elapsed = started.elapsed();
    let stats = server.stop();
    eprintln!(
        "{total} requests from {clients} clients in {elapsed:?} ({:.0}/s); server: {stats}",
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(stats.received, (per_client * clients) as u64);
    assert_eq!(stats.replied, (per_client * clients) as u64);
    assert_eq!(stats.error_replies, 0);
}

#[test]
fn a_hundred_thousand_pipelined_requests_from_four_clients() {
    pipeline(100_000, 4);
}

#[test]
#[ignore = "the full run: about 8 s with --release on 2 cores, 40 s in debug"]
fn a_million_pipelined_requests_from_eight_clients() {
    pipeline(1_000_000, 8);
}
