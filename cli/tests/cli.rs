//! The `plug` tool's output, pinned with snapshots, against an in-test server.

use std::process::{Command, Output};
use std::sync::Arc;

use plug_test_support::router::{f, json_frame, TestRouter, DEADLINE};
use serde_json::{json, Value};

/// A server for the CLI: JSON `ping` and `fail`, and raw echo for the rest.
fn serve(router: TestRouter) -> tokio::task::JoinHandle<()> {
    let router = Arc::new(router);
    tokio::spawn(async move {
        loop {
            let m = router.socket.recv().await.unwrap();
            let parsed: Option<Value> = (m.len() == 2)
                .then(|| serde_json::from_slice(&m[1]).ok())
                .flatten();
            let reply = match parsed {
                Some(req) if req["method"] == "ping" => {
                    vec![
                        m[0].clone(),
                        json_frame(json!({"id": req["id"], "result": "pong"})),
                    ]
                }
                Some(req) if req["method"] == "fail" => vec![
                    m[0].clone(),
                    json_frame(
                        json!({"id": req["id"], "error": {"code": -32601, "message": "method not found: fail"}}),
                    ),
                ],
                Some(req) if req["method"] == "subscribe" => {
                    for n in 1..=2 {
                        let push = json!({"method": "worldUpdate", "params": {"n": n}});
                        router
                            .socket
                            .send(vec![m[0].clone(), json_frame(push)])
                            .await
                            .unwrap();
                    }
                    vec![
                        m[0].clone(),
                        json_frame(json!({"id": req["id"], "result": "subscribed"})),
                    ]
                }
                Some(req) if req["method"] == "silence" => continue,
                _ => m,
            };
            router.socket.send(reply).await.unwrap();
        }
    })
}

async fn plug(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_plug"))
            .args(&args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    });
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("plug hung")
        .unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

macro_rules! snap {
    ($name:expr, $out:expr) => {
        let out = $out;
        insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")]}, {
            insta::assert_snapshot!($name, show(&out));
        });
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_prints_the_whole_reply_and_errors_have_one_line_reasons() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let server = serve(router);

    snap!(
        "request_ok",
        plug(&["request", &ep, r#"{"method":"ping"}"#]).await
    );
    snap!(
        "request_compact",
        plug(&["request", &ep, r#"{"method":"ping"}"#, "--compact"]).await
    );
    snap!(
        "request_remote_error",
        plug(&["request", &ep, r#"{"method":"fail"}"#]).await
    );
    snap!(
        "request_no_reply",
        plug(&[
            "request",
            &ep,
            r#"{"method":"silence"}"#,
            "--timeout",
            "300"
        ])
        .await
    );
    snap!("request_bad_json", plug(&["request", &ep, "{nope"]).await);
    snap!("request_not_object", plug(&["request", &ep, "[1]"]).await);
    snap!(
        "request_missing_endpoint",
        plug(&["request", r#"{"method":"ping"}"#]).await
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_shows_binary_frames_safely() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let server = serve(router);
    let dir = std::env::temp_dir().join(format!("plug-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bytes.bin");
    std::fs::write(&file, [0u8, 1, 2, 255, b'\n']).unwrap();
    let file = file.to_str().unwrap().to_owned();

    snap!(
        "send_wait",
        plug(&[
            "send",
            &ep,
            "héllo\tworld",
            "--file",
            &file,
            "--frame",
            "",
            "--wait"
        ])
        .await
    );
    snap!(
        "send_wait_hex",
        plug(&["send", &ep, "AB", "--file", &file, "--wait", "--hex"]).await
    );
    let quiet = plug(&["send", &ep, "fire and forget"]).await;
    assert!(quiet.status.success(), "{}", show(&quiet));
    assert!(quiet.stdout.is_empty());
    snap!("send_nothing", plug(&["send", &ep]).await);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_pushes_and_config_plugs_work() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let server = serve(router);
    snap!(
        "listen_request",
        plug(&[
            "listen",
            &ep,
            "--request",
            r#"{"method":"subscribe"}"#,
            "--count",
            "2"
        ])
        .await
    );
    snap!(
        "listen_send",
        plug(&["listen", &ep, "--send", "hello", "--count", "1"]).await
    );

    let dir = std::env::temp_dir().join(format!("plug-cli-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("plugs.toml");
    std::fs::write(
        &cfg,
        format!("[plug_sockets]\nenabled = true\n[plug_sockets.plugs.boomerang]\nconnect_to = \"{ep}\"\ncallbacks = true\nenvelope = \"bare\"\n"),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap().to_owned();
    let out = plug(&[
        "request",
        "--config",
        &cfg,
        "--plug",
        "boomerang",
        r#"{"method":"ping"}"#,
        "--compact",
    ])
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"id\":1,\"result\":\"pong\"}\n",
        "{}",
        show(&out)
    );

    std::fs::write(
        dir.join("bad.toml"),
        "[plug_sockets.plugs.b]\nconnect_to = \"tcp://127.0.0.1:1\"\ntimeout_ms = -5\n",
    )
    .unwrap();
    let bad = dir.join("bad.toml").to_str().unwrap().to_owned();
    snap!(
        "config_bad_key",
        plug(&["request", "--config", &bad, "--plug", "b", "{}"]).await
    );
    snap!(
        "config_unknown_plug",
        plug(&["request", "--config", &cfg, "--plug", "velocity", "{}"]).await
    );
    server.abort();
    let _ = f("");
}

#[tokio::test]
async fn new_writes_a_template_identical_to_the_repository_copy() {
    snap!("new_list", plug(&["new", "--list"]).await);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let base = std::env::temp_dir().join(format!("plug-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for lang in ["python", "ruby", "php", "java", "node", "c"] {
        let dir = base.join(lang);
        let out = plug(&["new", lang, dir.to_str().unwrap()]).await;
        assert!(out.status.success(), "{}", show(&out));
        let repo = root.join("bindings-examples").join(lang);
        let run = std::fs::metadata(dir.join("run")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert!(
            run.permissions().mode() & 0o100 != 0,
            "{lang}/run is executable"
        );
        for name in ["run", "README.md"] {
            assert_eq!(
                std::fs::read(dir.join(name)).unwrap(),
                std::fs::read(repo.join(name)).unwrap(),
                "{lang}/{name}"
            );
        }
        assert!(!dir.join("node_modules").exists() && !dir.join("build").exists());
    }
    let again = plug(&["new", "python", base.join("python").to_str().unwrap()]).await;
    assert_eq!(again.status.code(), Some(2), "refuses a non-empty folder");
    let nope = plug(&["new", "cobol", base.join("x").to_str().unwrap()]).await;
    assert_eq!(nope.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nope.stderr).contains("choose one of: python"));

    let rust = base.join("rust");
    let out = plug(&["new", "rust", rust.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", show(&out));
    let manifest = std::fs::read_to_string(rust.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("workspace = true"), "{manifest}");
    let parsed: toml::Table = manifest.parse().unwrap();
    for (dep, dir) in [("plug", "client"), ("plug-flags", "flags")] {
        let path = parsed["dependencies"][dep]["path"].as_str().unwrap();
        assert_eq!(std::path::Path::new(path), root.join(dir), "{dep}");
        assert!(std::path::Path::new(path).join("Cargo.toml").exists());
    }
    assert!(rust.join("src/main.rs").exists());
    std::fs::remove_dir_all(&base).unwrap();
}
