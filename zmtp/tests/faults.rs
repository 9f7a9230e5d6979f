//! Peers that misbehave, on the wire: garbage, a header announcing 2^62
//! bytes, an ERROR, a silent peer, a peer that never finishes the
//! handshake, and a ZMTP 3.0 peer (no heartbeats). The listener keeps
//! serving the others.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use plug_zmtp::{
    Batch, Error, Handshake, Heartbeat, Keepalive, KeepaliveAction, Options, PeerInfo, SocketType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The NULL handshake done by hand on a raw stream (the sans-I/O state
/// machine), so the test can write any bytes after it.
async fn raw_handshake(stream: &mut TcpStream, options: &Options) -> PeerInfo {
    let mut h = Handshake::new(options).unwrap();
    let mut input = BytesMut::new();
    loop {
        let done = h.feed(&mut input).unwrap();
        let out = h.output().split();
        stream.write_all(&out).await.unwrap();
        if let Some(peer) = done {
            return peer;
        }
        assert!(
            within("handshake bytes", stream.read_buf(&mut input))
                .await
                .unwrap()
                > 0
        );
    }
}

/// Reads until the other side closes; fails if it does not within the
/// deadline.
async fn read_to_close(stream: &mut TcpStream) {
    let mut sink = Vec::new();
    let _ = within("close", stream.read_to_end(&mut sink)).await;
}

async fn connect(endpoint: &str) -> TcpStream {
    TcpStream::connect(endpoint.strip_prefix("tcp://").unwrap())
        .await
        .unwrap()
}

async fn libzmq_round_trip(endpoint: &str) -> Vec<Vec<u8>> {
    let ep = endpoint.to_owned();
    let client = tokio::task::spawn_blocking(move || {
        let s = zmq_socket(zmq::DEALER);
        s.connect(&ep).unwrap();
        s.send("still serving", 0).unwrap();
        s.recv_multipart(0).unwrap()
    });
    within("libzmq client", client).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_and_the_listener_serves_on() {
    let mut listener = NativeListener::tcp(router()).await;
    let mut garbage = connect(&listener.endpoint).await;
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: plug\r\n\r\n")
        .await
        .unwrap();
    let (_, Seen::Handshake(Err(e))) = listener.next().await else {
        panic!("garbage got through")
    };
    assert!(e.contains("not a ZMTP peer"), "{e}");
    read_to_close(&mut garbage).await;
    assert_eq!(
        libzmq_round_trip(&listener.endpoint).await,
        [b"still serving"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_announcing_2_62_bytes_is_refused_without_allocating() {
    let mut listener = NativeListener::tcp(router()).await;
    let mut peer = connect(&listener.endpoint).await;
    raw_handshake(&mut peer, &dealer()).await;
    let (_, Seen::Handshake(Ok(_))) = listener.next().await else {
        panic!("no handshake")
    };
    // LONG flag, size 2^62: only a header, no body follows.
    peer.write_all(&[0x02, 0x40, 0, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let (_, Seen::Ended { error, buffer }) = listener.next().await else {
        panic!("the connection went on")
    };
    assert!(
        error.contains("message of at least 4611686018427387904 bytes announced"),
        "{error}"
    );
    // The read buffer is the one of the handshake: nothing was reserved
    // for the announced body.
    assert!(buffer <= 128 << 10, "read buffer of {buffer} bytes");
    read_to_close(&mut peer).await;
    assert_eq!(
        libzmq_round_trip(&listener.endpoint).await,
        [b"still serving"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_flags_and_a_command_inside_a_message_close_the_connection() {
    let mut listener = NativeListener::tcp(router()).await;
    for (bytes, want) in [
        (&b"\x08\x00"[..], "reserved bits set in frame flags 0x08"),
        (
            b"\x01\x01a\x04\x05\x04PONG",
            "a command frame inside a multipart message",
        ),
    ] {
        let mut peer = connect(&listener.endpoint).await;
        raw_handshake(&mut peer, &dealer()).await;
        let (n, Seen::Handshake(Ok(_))) = listener.next().await else {
            panic!("no handshake")
        };
        peer.write_all(bytes).await.unwrap();
        let (m, Seen::Ended { error, .. }) = listener.next().await else {
            panic!("the connection went on")
        };
        assert_eq!(n, m);
        assert!(error.contains(want), "{error} lacks {want}");
        read_to_close(&mut peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_command_after_the_handshake_is_a_refusal() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        raw_handshake(&mut s, &router()).await;
        s.write_all(b"\x04\x0b\x05ERROR\x04gone").await.unwrap();
        s
    });
    let s = TcpStream::connect(addr).await.unwrap();
    let c = within("handshake", plug_zmtp::handshake(s, &dealer()))
        .await
        .unwrap();
    let (mut reader, _writer) = c.into_split();
    let err = within("read", reader.read_batch(&mut Batch::default()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reason } if reason == "gone"),
        "{err}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_reported_after_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        raw_handshake(&mut s, &router()).await;
        // Reads nothing, answers nothing, until the test ends.
        let _ = hold_rx.await;
    });
    let s = TcpStream::connect(addr).await.unwrap();
    let c = within("handshake", plug_zmtp::handshake(s, &dealer()))
        .await
        .unwrap();
    let heartbeat = Heartbeat {
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(60),
        ttl: Duration::ZERO,
    };
    let mut keepalive = Keepalive::new(heartbeat, c.peer()).unwrap();
    let (reader, mut writer) = c.into_split();
    let mut pings = 0;
    within("PeerSilent", async {
        // Until the tick says PeerSilent.
        while let KeepaliveAction::Ping(ping) = keepalive.tick(reader.last_received()).await {
            writer.queue_command(&ping);
            writer.flush().await.unwrap();
            pings += 1;
        }
    })
    .await;
    assert!(pings >= 1, "reported silent before any PING");
    let _ = hold_tx.send(());
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_never_ends_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        // Accepts and sends nothing.
        let (s, _) = listener.accept().await.unwrap();
        s
    });
    let s = TcpStream::connect(addr).await.unwrap();
    let options = dealer().handshake_timeout(Duration::from_millis(100));
    let err = within("handshake", plug_zmtp::handshake(s, &options))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zmtp_3_0_peer_talks_without_heartbeats() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        // A 3.0 greeting, then READY as ROUTER, then one message.
        let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0];
        greeting.extend_from_slice(b"NULL");
        greeting.resize(64, 0);
        s.write_all(&greeting).await.unwrap();
        s.write_all(b"\x04\x1c\x05READY\x0bSocket-Type\0\0\0\x06ROUTER")
            .await
            .unwrap();
        s.write_all(b"\x00\x05hello").await.unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    let s = TcpStream::connect(addr).await.unwrap();
    let c = within("handshake", plug_zmtp::handshake(s, &dealer()))
        .await
        .unwrap();
    assert_eq!(c.peer().version.minor, 0);
    assert!(
        Keepalive::new(Heartbeat::every(Duration::from_millis(10)), c.peer()).is_none(),
        "no PING for a 3.0 peer"
    );
    let (mut reader, writer) = c.into_split();
    let mut batch = Batch::default();
    within("message", reader.read_batch(&mut batch))
        .await
        .unwrap();
    assert_eq!(batch.messages, [vec![Bytes::from_static(b"hello")]]);
    drop(writer);
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_are_refused_before_any_io() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let options = Options::new(SocketType::Dealer).identity(vec![b'x'; 300]);
    let err = plug_zmtp::handshake(s, &options).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Option {
                option: "identity",
                ..
            }
        ),
        "{err}"
    );
}
