//! The `plug` tool's output, pinned with snapshots, against an in-test server.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;

use plug::protocol::{encode_error, encode_result, parse_request, ErrorObject};
use plug::Frame;
use plug_test_support::router::{f, json_frame, TestRouter, DEADLINE};
use serde_json::json;

use common::{plug, plug_with_stdin, show};

/// A server for the CLI: JSON `ping`, `echo`, `fail`, `subscribe`,
/// `silence` and `badid` (which answers with the id turned into a string),
/// each reply carrying the request's id as its exact JSON text; raw echo
/// for anything else.
fn serve(router: TestRouter) -> tokio::task::JoinHandle<()> {
    let router = Arc::new(router);
    tokio::spawn(async move {
        loop {
            let m = router.socket.recv().await.unwrap();
            let Some(req) = (m.len() == 2)
                .then(|| parse_request(&m[1..]).ok())
                .flatten()
                .filter(|r| r.method().is_ok())
            else {
                router.socket.send(m).await.unwrap();
                continue;
            };
            let id = req.id();
            let body = match req.method().unwrap() {
                "ping" => encode_result(id, false, &json!("pong")),
                "echo" => encode_result(id, false, req.params()),
                "fail" => encode_error(id, false, &ErrorObject::method_not_found("fail")),
                "subscribe" => {
                    for n in 1..=2 {
                        let push = json!({"method": "worldUpdate", "params": {"n": n}});
                        router
                            .socket
                            .send(vec![m[0].clone(), json_frame(push)])
                            .await
                            .unwrap();
                    }
                    encode_result(id, false, &json!("subscribed"))
                }
                "badid" => {
                    let text = id.map_or("null".to_owned(), |id| id.json().to_owned());
                    serde_json::to_vec(&json!({"id": text, "result": "x"})).unwrap()
                }
                "silence" => continue,
                _ => {
                    router.socket.send(m).await.unwrap();
                    continue;
                }
            };
            router
                .socket
                .send(vec![m[0].clone(), Frame::from(body)])
                .await
                .unwrap();
        }
    })
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
    // The reply counts: reply and one push.
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
    let missing = plug(&[
        "request",
        "--config",
        "/nonexistent.toml",
        "--plug",
        "b",
        "{}",
    ])
    .await;
    assert_eq!(missing.status.code(), Some(5), "{}", show(&missing));
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
    let protocol = std::fs::read(root.join("PROTOCOL.md")).unwrap();
    let base = std::env::temp_dir().join(format!("plug-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for (lang, folder) in [
        ("python", "python"),
        ("ruby", "ruby"),
        ("php", "php"),
        ("java", "java"),
        ("node", "node"),
        ("c", "c"),
        ("rails", "ruby-rails-bridge"),
        ("rust", "rust"),
    ] {
        let dir = base.join(lang);
        let out = plug(&["new", lang, dir.to_str().unwrap()]).await;
        assert!(out.status.success(), "{}", show(&out));
        let repo = root.join("bindings-examples").join(folder);
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
        assert_eq!(std::fs::read(dir.join("PROTOCOL.md")).unwrap(), protocol);
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.contains("## Check it"), "{lang}");
        assert!(readme.contains("plug-conformance check --spawn './run {endpoint} rpc'"));
        assert!(readme.contains("plug request "), "{lang}");
        assert!(!dir.join("node_modules").exists() && !dir.join("build").exists());
    }
    let again = plug(&["new", "python", base.join("python").to_str().unwrap()]).await;
    assert_eq!(again.status.code(), Some(2), "refuses a non-empty folder");
    let nope = plug(&["new", "cobol", base.join("x").to_str().unwrap()]).await;
    assert_eq!(nope.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nope.stderr).contains("choose one of: python"));
    std::fs::write(base.join("file"), "").unwrap();
    let blocked = plug(&["new", "c", base.join("file/c").to_str().unwrap()]).await;
    assert_eq!(blocked.status.code(), Some(5), "{}", show(&blocked));
    std::fs::remove_dir_all(&base).unwrap();
}

/// `plug new rust DIR`: a project named after DIR, with its own tests, whose
/// `plug` is vendored, so that it builds after the folder is moved. Its
/// target folder is `target/plug-new-rust` of this workspace: the first run
/// builds libzmq for it (a few minutes), later runs only the project.
#[test]
fn new_rust_is_a_project_of_its_own_that_builds_where_it_is_moved() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let base = std::env::temp_dir().join(format!("plug-new-rust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let made = base.join("made").join("Ticket Desk");
    let out = Command::new(env!("CARGO_BIN_EXE_plug"))
        .args(["new", "rust", made.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let moved = base.join("elsewhere");
    std::fs::rename(&made, &moved).unwrap();

    let manifest: toml::Table = std::fs::read_to_string(moved.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(manifest["package"]["name"].as_str(), Some("ticket-desk"));
    assert_eq!(
        manifest["dependencies"]["plug"]["path"].as_str(),
        Some("vendor/plug")
    );
    assert_eq!(
        std::fs::read(moved.join("vendor/plug/src/lib.rs")).unwrap(),
        std::fs::read(root.join("client/src/lib.rs")).unwrap()
    );
    assert!(moved.join("tests/server.rs").exists());
    assert!(moved.join("Cargo.lock").exists());

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("plug-new-rust");
    let test = Command::new(env!("CARGO"))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&moved)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(test.status.success(), "{}", show(&test));
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(stdout.contains("5 passed; 0 failed"), "{stdout}");
    std::fs::remove_dir_all(&base).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_come_from_stdin_or_a_file_and_a_closed_stdout_is_quiet() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let server = serve(router);
    let dir = std::env::temp_dir().join(format!("plug-cli-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Larger than the 128 KiB a single argument may be.
    let big = "x".repeat(300 * 1024);
    let request = json!({"method": "echo", "params": big}).to_string();
    let file = dir.join("req.json");
    std::fs::write(&file, &request).unwrap();
    let at_file = format!("@{}", file.display());

    let from_stdin = plug_with_stdin(
        &["request", &ep, "-", "--compact"],
        request.clone().into_bytes(),
    )
    .await;
    assert_eq!(from_stdin.status.code(), Some(0), "{}", show(&from_stdin));
    assert_eq!(
        String::from_utf8_lossy(&from_stdin.stdout),
        format!("{}\n", json!({"id": 1, "result": big}))
    );
    let from_file = plug(&["request", &ep, &at_file, "--compact"]).await;
    assert_eq!(from_file.stdout, from_stdin.stdout, "{}", show(&from_file));

    let bytes: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("frame.bin"), &bytes).unwrap();
    let at_bin = format!("@{}", dir.join("frame.bin").display());
    let raw = plug(&["send", &ep, &at_bin, "--wait", "--hex"]).await;
    assert!(raw.status.success(), "{}", show(&raw));
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        String::from_utf8_lossy(&raw.stdout),
        format!("frame 0 ({} bytes, hex): {hex}\n", bytes.len())
    );
    let raw_stdin = plug_with_stdin(&["send", &ep, "-", "--wait"], b"from stdin".to_vec()).await;
    assert_eq!(
        String::from_utf8_lossy(&raw_stdin.stdout),
        "frame 0 (10 bytes): from stdin\n"
    );

    snap!(
        "request_missing_file",
        plug(&["request", &ep, "@/nonexistent/req.json"]).await
    );
    snap!(
        "send_missing_file",
        plug(&["send", &ep, "--file", "/nonexistent/frame.bin"]).await
    );

    // The reader goes away before the reply (300 KiB, more than a pipe
    // holds) is written: no panic, no message, the command's own status.
    let mut child = Command::new(env!("CARGO_BIN_EXE_plug"))
        .args(["request", &ep, &at_file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let waited = tokio::task::spawn_blocking(move || {
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        child.wait_with_output().unwrap()
    });
    let out = tokio::time::timeout(DEADLINE, waited)
        .await
        .expect("plug hung")
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    server.abort();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_id_sends_the_id_as_given_and_a_foreign_id_is_named() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let server = serve(router);
    snap!(
        "keep_id_u64_max",
        plug(&[
            "request",
            &ep,
            r#"{"id": 18446744073709551615, "method": "ping"}"#,
            "--keep-id"
        ])
        .await
    );
    snap!(
        "keep_id_string_error",
        plug(&[
            "request",
            &ep,
            r#"{"id":"a\u00e9","method":"fail"}"#,
            "--keep-id"
        ])
        .await
    );
    snap!(
        "keep_id_without_id",
        plug(&["request", &ep, r#"{"method":"ping"}"#, "--keep-id"]).await
    );
    // Without --keep-id the plug's own id replaces the body's, and says so.
    snap!(
        "request_id_replaced",
        plug(&["request", &ep, r#"{"id":7,"method":"ping"}"#, "--compact"]).await
    );
    // A reply with an id the plug did not send ends the command at once
    // (well before this timeout), shown and named.
    snap!(
        "request_foreign_id",
        plug(&[
            "request",
            &ep,
            r#"{"method":"badid"}"#,
            "--timeout",
            "60000"
        ])
        .await
    );
    snap!(
        "keep_id_foreign_id",
        plug(&[
            "request",
            &ep,
            r#"{"id":1.50,"method":"badid"}"#,
            "--keep-id",
            "--timeout",
            "60000"
        ])
        .await
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_stops_on_count_or_timeout_and_speaks_json() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let server = serve(router);
    // The reply to --request is message 1 of 1.
    snap!(
        "listen_request_count_1",
        plug(&[
            "listen",
            &ep,
            "--request",
            r#"{"method":"subscribe"}"#,
            "--count",
            "1"
        ])
        .await
    );
    snap!(
        "listen_json",
        plug(&[
            "listen",
            &ep,
            "--request",
            r#"{"method":"subscribe"}"#,
            "--count",
            "3",
            "--json"
        ])
        .await
    );
    snap!(
        "listen_json_raw",
        plug(&["listen", &ep, "--send", "hi\u{1}", "--count", "1", "--json", "--hex"]).await
    );
    // Nothing comes: --timeout ends it, status 3 when --count wanted more.
    snap!(
        "listen_timeout_count",
        plug(&["listen", &ep, "--timeout", "300", "--count", "1"]).await
    );
    let file = std::env::temp_dir().join(format!("plug-cli-listen-{}.json", std::process::id()));
    std::fs::write(&file, r#"{"method":"subscribe"}"#).unwrap();
    let at_file = format!("@{}", file.display());
    let from_file = plug(&["listen", &ep, "--request", &at_file, "--count", "1"]).await;
    assert_eq!(
        String::from_utf8_lossy(&from_file.stdout),
        "{\"id\":1,\"result\":\"subscribed\"}\n",
        "{}",
        show(&from_file)
    );
    std::fs::remove_file(&file).unwrap();
    let quiet = plug(&["listen", &ep, "--timeout", "300"]).await;
    assert_eq!(quiet.status.code(), Some(0), "{}", show(&quiet));
    assert!(quiet.stdout.is_empty());
    server.abort();
}

#[tokio::test]
async fn endpoints_are_checked_before_anything_starts() {
    for (name, args) in [
        (
            "endpoint_bad_ipv4",
            vec!["request", "tcp://256.1.1.1:1", "{}"],
        ),
        (
            "endpoint_bad_port",
            vec!["request", "tcp://localhost:99999", "{}"],
        ),
        ("endpoint_not_one", vec!["request", "foo", "{}"]),
        ("endpoint_listen", vec!["listen", "tcp://*:5000"]),
        ("endpoint_send", vec!["send", "ipc://", "x"]),
    ] {
        snap!(name, plug(&args).await);
    }
}

#[tokio::test]
async fn keygen_works_in_every_build_and_help_lists_the_statuses() {
    let out = plug(&["keygen"]).await;
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let key = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        line.split('"').nth(1).unwrap().to_owned()
    };
    let (public, secret) = (key("public_key"), key("secret_key"));
    assert!(plug::check_z85_key(&public).is_ok() && plug::check_z85_key(&secret).is_ok());
    assert_eq!(
        plug::Keypair::from_secret(&secret).unwrap().public(),
        public
    );

    let dir = std::env::temp_dir().join(format!("plug-cli-keygen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = plug(&["keygen", "--out", dir.join("server").to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", show(&out));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("server"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let public = std::fs::read_to_string(dir.join("server.pub")).unwrap();
    let secret = std::fs::read_to_string(dir.join("server")).unwrap();
    assert_eq!(
        plug::Keypair::from_secret(secret.trim()).unwrap().public(),
        public.trim()
    );
    let nowhere = plug(&["keygen", "--out", "/nonexistent/dir/key"]).await;
    assert_eq!(nowhere.status.code(), Some(5), "{}", show(&nowhere));
    std::fs::remove_dir_all(&dir).unwrap();

    let help = plug(&["--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    let statuses = &help[help.find("Exit status").expect("statuses in --help")..];
    insta::assert_snapshot!("help_exit_statuses", statuses);
}

/// `--stats`: the plug's counters after the request, one JSON line on
/// stderr, with each endpoint's state and counts, on either transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_name_each_endpoint_after_a_request() {
    let router = TestRouter::bind();
    let ep = router.endpoint.clone();
    let _server = serve(router);
    for transport in ["native", "libzmq"] {
        let out = plug(&[
            "request",
            &ep,
            r#"{"method":"ping"}"#,
            "--compact",
            "--stats",
            "--transport",
            transport,
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let stats: serde_json::Value = serde_json::from_str(stderr.trim()).expect(&stderr);
        assert_eq!(stats["sent"], 1, "{stats}");
        assert_eq!(stats["replies"], 1, "{stats}");
        let per = stats["per_endpoint"].as_array().expect("per_endpoint");
        assert_eq!(per.len(), 1, "{stats}");
        assert_eq!(per[0]["endpoint"], ep.as_str(), "{stats}");
        assert_eq!(per[0]["transport"], transport, "{stats}");
        assert_eq!(per[0]["ok"], 1, "{stats}");
        assert_eq!(per[0]["timeouts"], 0, "{stats}");
    }
    // --keep-id reads no plug counters: the two together are refused.
    let out = plug(&["request", &ep, "{}", "--keep-id", "--stats"]).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
