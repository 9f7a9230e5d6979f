//! Property tests: whatever is encoded decodes to the same messages and
//! commands, however the bytes are cut on the way; two handshakes agree
//! however their bytes are cut; the tokio layer carries batches through a
//! stream with a tiny buffer (partial reads and writes everywhere).

use bytes::{Buf, Bytes, BytesMut};
use plug_zmtp::{
    Batch, Command, Decoder, Encoder, Handshake, Inbound, Limits, Options, SocketType,
};
use proptest::prelude::*;

fn frame() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..40),
        1 => prop::collection::vec(any::<u8>(), 250..700),
    ]
    .prop_map(Bytes::from)
}

fn context() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..=16).prop_map(Bytes::from)
}

fn inbound() -> impl Strategy<Value = Inbound> {
    prop_oneof![
        6 => prop::collection::vec(frame(), 1..6).prop_map(Inbound::Message),
        1 => (any::<u16>(), context())
            .prop_map(|(ttl, context)| Inbound::Command(Command::Ping { ttl, context })),
        1 => context().prop_map(|context| Inbound::Command(Command::Pong { context })),
        1 => ("[A-Z]{1,12}", prop::collection::vec(any::<u8>(), 0..30))
            .prop_filter("not a known name", |(n, _)| {
                !["READY", "ERROR", "PING", "PONG"].contains(&n.as_str())
            })
            .prop_map(|(name, data)| Inbound::Command(Command::Unknown {
                name: Bytes::from(name),
                data: Bytes::from(data),
            })),
    ]
}

/// Cuts `bytes` at the given fractions.
fn cut(bytes: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

proptest! {
    #[test]
    fn encode_then_decode_in_any_pieces(
        items in prop::collection::vec(inbound(), 0..20),
        copy_limit in 0usize..600,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
    ) {
        let mut e = Encoder::new(copy_limit);
        for item in &items {
            match item {
                Inbound::Message(frames) => e.message(frames.iter().cloned()).unwrap(),
                Inbound::Command(c) => e.command(c),
            }
        }
        let wire = e.copy_to_bytes(e.remaining());
        let mut d = Decoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in cut(&wire, &cuts) {
            buf.extend_from_slice(&piece);
            while let Some(x) = d.decode(&mut buf).unwrap() {
                out.push(x);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert!(!d.in_message());
        prop_assert_eq!(out, items);
    }

    #[test]
    fn two_handshakes_agree_in_any_pieces(
        dealer_side in any::<bool>(),
        identity in prop::option::of(prop::collection::vec(1u8..=255, 1..=255)),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let (a_type, b_type) = if dealer_side {
            (SocketType::Dealer, SocketType::Router)
        } else {
            (SocketType::Router, SocketType::Router)
        };
        let mut a_options = Options::new(a_type);
        a_options.identity = identity.clone().map(Bytes::from);
        let mut a = Handshake::new(&a_options).unwrap();
        let mut b = Handshake::new(&Options::new(b_type)).unwrap();
        // b receives a's bytes in pieces; a receives b's at once.
        let mut to_b = Vec::new();
        let mut a_done = None;
        let mut b_done = None;
        let mut b_in = BytesMut::new();
        let mut a_in = BytesMut::new();
        for _ in 0..4 {
            to_b.extend_from_slice(&a.output().split());
            for piece in cut(&to_b, &cuts) {
                b_in.extend_from_slice(&piece);
                if b_done.is_none() {
                    b_done = b.feed(&mut b_in).unwrap();
                }
            }
            to_b.clear();
            a_in.extend_from_slice(&b.output().split());
            if a_done.is_none() {
                a_done = a.feed(&mut a_in).unwrap();
            }
        }
        let (a_peer, b_peer) = (a_done.expect("a done"), b_done.expect("b done"));
        prop_assert_eq!(a_peer.socket_type, b_type);
        prop_assert_eq!(b_peer.socket_type, a_type);
        prop_assert_eq!(b_peer.identity, identity.map(Bytes::from));
    }

}

proptest! {
    // Each case runs a runtime and a handshake: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batches_through_a_tiny_stream(
        messages in prop::collection::vec(prop::collection::vec(frame(), 1..4), 1..30),
        pings in prop::collection::vec(context(), 0..4),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (a, b) = tokio::io::duplex(7);
            let dealer_options = Options::new(SocketType::Dealer).copy_limit(100);
            let router_options = Options::new(SocketType::Router).read_buffer(5);
            let dealer = plug_zmtp::handshake(a, &dealer_options);
            let router = plug_zmtp::handshake(b, &router_options);
            let (dealer, router) = tokio::join!(dealer, router);
            let (_dr, mut dw) = dealer.unwrap().split();
            let (mut rr, _rw) = router.unwrap().split();
            for m in &messages {
                dw.queue(m.clone()).unwrap();
            }
            for context in &pings {
                dw.queue_command(&Command::Ping { ttl: 1, context: context.clone() });
            }
            let write = async move { dw.flush().await.unwrap(); dw };
            let read = async {
                let mut batch = Batch::default();
                while batch.messages.len() < messages.len() || batch.pings.len() < pings.len() {
                    rr.read_batch(&mut batch).await.unwrap();
                }
                batch
            };
            let (_dw, batch) = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                async { tokio::join!(write, read) },
            ).await.expect("deadline");
            assert_eq!(&batch.messages, &messages);
            assert_eq!(&batch.pings, &pings);
        });
    }
}
