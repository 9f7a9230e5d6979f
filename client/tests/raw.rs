//! Raw plugs against an in-test ROUTER.

use std::time::Duration;

use plug::protocol::EnvelopeStyle;
use plug::{Frame, MessageKind, PlugBuilder};
use plug_test_support::router::{f, within, TestRouter};

#[tokio::test]
async fn frames_go_out_and_come_back_byte_for_byte() {
    let router = TestRouter::bind();
    let plug = PlugBuilder::new("velocity")
        .connect_to(&router.endpoint)
        .raw()
        .unwrap();
    let mut inbox = plug.messages().unwrap();
    let all: Vec<u8> = (0..=255).collect();
    plug.send_multipart([Frame::from(all.clone()), f(""), f("\0tail")])
        .await
        .unwrap();
    let m = router.recv().await;
    assert_eq!(m.len(), 4, "[identity, 3 frames]");
    assert_eq!(&m[1][..], &all[..]);
    assert!(m[2].is_empty());
    assert_eq!(&m[3][..], b"\0tail");
    router.send(m).await;
    let back = within(inbox.recv()).await.unwrap();
    assert_eq!(back.kind(), &MessageKind::Raw);
    assert_eq!(back.frames().len(), 3);
    assert_eq!(&back.frames()[0][..], &all[..]);

    plug.send("Hello from Rust").await.unwrap();
    let m = router.recv().await;
    assert_eq!(&m[1][..], b"Hello from Rust");
    assert_eq!(plug.stats().sent, 2);
}

#[tokio::test]
async fn server_pushes_reach_the_handler_and_order_is_kept() {
    let router = TestRouter::bind();
    let plug = PlugBuilder::new("velocity")
        .connect_to(&router.endpoint)
        .envelope(EnvelopeStyle::Delimited)
        .raw()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    assert!(plug.on_message(move |m| tx.send(m).unwrap()));
    plug.send("subscribe").await.unwrap();
    let m = router.recv().await;
    assert_eq!(m.len(), 3);
    assert!(m[1].is_empty(), "delimiter first");
    let ident = m[0].clone();
    for i in 0..1000u32 {
        router
            .send(vec![
                ident.clone(),
                f(""),
                Frame::from(i.to_be_bytes().to_vec()),
            ])
            .await;
    }
    router.send(vec![ident, f("no delimiter")]).await;
    for i in 0..1000u32 {
        let m = within(rx.recv()).await.unwrap();
        assert_eq!(m.body(), &i.to_be_bytes());
    }
    let bad = within(rx.recv()).await.unwrap();
    assert!(matches!(bad.kind(), MessageKind::Invalid(_)));
}

#[tokio::test]
async fn a_large_message_survives() {
    let router = TestRouter::bind();
    let plug = PlugBuilder::new("video")
        .connect_to(&router.endpoint)
        .timeout(Duration::from_secs(20))
        .raw()
        .unwrap();
    let big: Vec<u8> = (0..64 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    plug.send(big.clone()).await.unwrap();
    let m = router.recv().await;
    assert_eq!(m[1].len(), big.len());
    assert!(m[1][..] == big[..]);
}

#[tokio::test]
async fn without_a_consumer_the_inbox_keeps_a_bounded_number_and_counts_the_rest() {
    let router = TestRouter::bind();
    let plug = PlugBuilder::new("quiet")
        .connect_to(&router.endpoint)
        .inbox_capacity(4)
        .raw()
        .unwrap();
    plug.send("hi").await.unwrap();
    let ident = router.recv().await[0].clone();
    for i in 0..10 {
        router.send(vec![ident.clone(), f(&i.to_string())]).await;
    }
    within(async {
        while plug.stats().dropped < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut inbox = plug.messages().unwrap();
    for i in 0..4 {
        assert_eq!(
            within(inbox.recv()).await.unwrap().body(),
            i.to_string().as_bytes()
        );
    }
    assert_eq!(plug.stats().dropped, 6);
}
