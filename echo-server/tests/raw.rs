//! Raw mode on the wire: every message back frame for frame, byte for byte,
//! in its envelope and in order (PROTOCOL.md §4).

mod common;

use common::*;
use echo_server::Mode;
use plug::server::ServerConfig;

#[test]
fn binary_empty_and_multipart_messages_come_back_unchanged() {
    let server = Server::start(Mode::Raw);
    let c = dealer(&server.endpoint);
    let all_bytes: Vec<u8> = (0..=255).collect();
    let messages: Vec<Vec<&[u8]>> = vec![
        vec![b"hello"],
        vec![&all_bytes],
        vec![b"\xff\xfe\x00invalid utf-8"],
        vec![b""],
        vec![b"", b""],
        vec![b"a", b"", b"c"],
        vec![b"", b"after an empty first frame"],
        vec![b"x"; 50],
    ];
    for m in &messages {
        send(&c, m);
    }
    for m in &messages {
        assert_eq!(&recv(&c), m);
    }
}

#[test]
fn a_hundred_megabytes_come_back_byte_for_byte() {
    let server = Server::start(Mode::Raw);
    let c = dealer(&server.endpoint);
    let big: Vec<u8> = (0..100 * 1024 * 1024)
        .map(|i: usize| (i * 7 % 251) as u8)
        .collect();
    send(&c, &[b"head", &big, b"tail"]);
    let back = recv(&c);
    assert_eq!(back.len(), 3);
    assert_eq!(back[0], b"head");
    assert!(back[1] == big, "100 MB frame changed");
    assert_eq!(back[2], b"tail");
}

#[test]
fn order_is_kept_per_peer_across_many_peers() {
    let server = Server::start(Mode::Raw);
    let peers: Vec<zmq::Socket> = (0..4).map(|_| dealer(&server.endpoint)).collect();
    for i in 0..5_000u32 {
        for (p, s) in peers.iter().enumerate() {
            send(s, &[format!("{p}:{i}").as_bytes()]);
        }
    }
    for (p, s) in peers.iter().enumerate() {
        for i in 0..5_000u32 {
            assert_eq!(recv(s), vec![format!("{p}:{i}").into_bytes()]);
        }
    }
}

#[test]
fn req_sockets_get_their_envelope_back() {
    let server = Server::start(Mode::Raw);
    let req = connect(zmq::REQ, &server.endpoint);
    for i in 0..3 {
        req.send_multipart([format!("r{i}").as_bytes(), b"two"], 0)
            .unwrap();
        assert_eq!(
            req.recv_multipart(0).expect("reply within deadline"),
            vec![format!("r{i}").into_bytes(), b"two".to_vec()]
        );
    }
}

#[test]
fn too_large_messages_are_dropped_and_the_server_goes_on() {
    let server = Server::start_with(Mode::Raw, ServerConfig::raw().max_message_bytes(1000));
    let c = dealer(&server.endpoint);
    send(&c, &[&[7u8; 600], &[8u8; 600]]);
    send(&c, &[&[9u8; 1000]]);
    // One peer's replies keep the order of its messages (PROTOCOL.md
    // §4.3): the first back is the one that fits.
    assert_eq!(recv(&c), vec![vec![9u8; 1000]]);
    let stats = server.stop();
    assert_eq!(stats.dropped_incoming, 1, "{stats}");
    assert_eq!((stats.received, stats.replied), (2, 1), "{stats}");
}

#[test]
fn a_peer_that_does_not_read_loses_nothing_and_blocks_no_one() {
    let logs = plug_test_support::logs::capture();
    let n = 40_000;
    let server = Server::start_with(Mode::Raw, ServerConfig::raw().max_in_flight(n));
    let slow = slow_reader_named(&server.endpoint, n, b"raw-slow-reader");
    let payload = [b'r'; 1000];
    for i in 0..n as u32 {
        send(&slow, &[&i.to_be_bytes(), &payload]);
    }
    // Replies to it wait for room now; another peer is served meanwhile.
    logs.wait_for(&[QUEUE_FULL, &hex(b"raw-slow-reader")]);
    let other = dealer(&server.endpoint);
    send(&other, &[b"still there?"]);
    assert_eq!(recv(&other), vec![b"still there?".to_vec()]);
    for i in 0..n as u32 {
        assert_eq!(
            recv(&slow),
            vec![i.to_be_bytes().to_vec(), payload.to_vec()]
        );
    }
    let stats = server.stop();
    assert_eq!(stats.dropped_full + stats.dropped_incoming, 0, "{stats}");
    assert_eq!(stats.replied, n as u64 + 1, "{stats}");
}
