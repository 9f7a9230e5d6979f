//! Plugs opened from a TOML configuration, by name.

use plug::{Config, Error, Plugs};
use plug_test_support::router::{json_frame, within, TestRouter};
use serde_json::json;

#[tokio::test]
async fn named_plugs_from_the_seed_shaped_config() {
    let router = TestRouter::bind();
    let text = format!(
        r#"
[plug_sockets]
enabled = true

[plug_sockets.plugs.velocity]
connect_to = "{ep}"

[plug_sockets.plugs.boomerang]
connect_to = "{ep}"
callbacks = true
debug = true
"#,
        ep = router.endpoint
    );
    let config = Config::from_toml(&text).unwrap();
    let plugs = Plugs::open(&config).unwrap();
    assert_eq!(plugs.names().collect::<Vec<_>>(), ["boomerang", "velocity"]);

    plugs
        .raw("velocity")
        .unwrap()
        .send("Hello from Rust")
        .await
        .unwrap();
    let m = router.recv().await;
    assert_eq!(&m[1][..], b"Hello from Rust");

    let boomerang = plugs.rpc("boomerang").unwrap().clone();
    let call =
        tokio::spawn(async move { boomerang.request(json!({"method": "getPlayers"})).await });
    let (ident, body) = router.recv_json().await;
    router
        .send(vec![
            ident,
            json_frame(json!({"id": body["id"], "result": ["a"]})),
        ])
        .await;
    assert_eq!(within(call).await.unwrap().unwrap().result(), &json!(["a"]));

    let wrong = plugs.rpc("velocity").unwrap_err();
    assert!(
        matches!(&wrong, Error::Config(e) if e.key.ends_with("velocity.callbacks")),
        "{wrong}"
    );
    let missing = plugs.raw("nope").unwrap_err();
    assert!(
        missing.to_string().contains("boomerang, velocity"),
        "{missing}"
    );
}

#[tokio::test]
async fn disabled_config_opens_nothing() {
    let config = Config::from_toml(
        "[plug_sockets]\n[plug_sockets.plugs.v]\nconnect_to = \"tcp://127.0.0.1:9\"\n",
    )
    .unwrap();
    let plugs = Plugs::open(&config).unwrap();
    assert_eq!(plugs.names().count(), 0);
}
