//! The native transport against a real ZMTP 2.0 peer: JeroMQ 0.3 (Debian's
//! `libjeromq-java`), both ways. Needs `javac` and
//! `/usr/share/java/jeromq.jar` (`bindings-examples/install-deps`); skipped
//! with a note without them, except under `CI=true`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use common::*;
use plug_zmtp::{SocketType, ZMTP_2_0};

const JAR: &str = "/usr/share/java/jeromq.jar";

/// Compiles `jeromq/Peer.java` once per test binary; `None` (having said
/// SKIPPED) when Java or JeroMQ is missing outside CI.
fn peer_classes() -> Option<PathBuf> {
    static CLASSES: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CLASSES
        .get_or_init(|| {
            let javac = Command::new("javac").arg("-version").output();
            if javac.is_err() || !Path::new(JAR).exists() {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but javac or {JAR} is missing (bindings-examples/install-deps)"
                );
                eprintln!(
                    "!!! SKIPPED: javac or {JAR} is missing (bindings-examples/install-deps)"
                );
                return None;
            }
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jeromq-peer");
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jeromq/Peer.java");
            let status = Command::new("javac")
                .args(["-cp", JAR, "-d"])
                .arg(&out)
                .arg(source)
                .status()
                .expect("javac runs");
            assert!(status.success(), "javac failed on Peer.java");
            Some(out)
        })
        .clone()
}

/// A running `Peer` whose stdout lines arrive on a channel; killed on drop.
struct JavaPeer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl JavaPeer {
    fn start(classes: &Path, args: &[&str]) -> JavaPeer {
        let mut child = Command::new("java")
            .arg("-cp")
            .arg(format!("{}:{JAR}", classes.display()))
            .arg("Peer")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("java runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        JavaPeer { child, lines }
    }

    /// The next line it prints, within the deadline.
    fn line(&self, what: &str) -> String {
        self.lines
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|e| panic!("{what}: no line from the JeroMQ peer ({e})"))
    }
}

impl Drop for JavaPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One printed message: its frames, from hex.
fn parse(line: &str) -> Vec<Vec<u8>> {
    line.split(',')
        .map(|hex| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

/// The message both directions send: empty, short and long (over 255
/// bytes, so an 8-byte size) frames.
fn message() -> Vec<Vec<u8>> {
    vec![b"".to_vec(), b"hello".to_vec(), b"".to_vec(), vec![0; 300]]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_dealer_talks_to_a_jeromq_router() {
    let Some(classes) = peer_classes() else {
        return;
    };
    let java = tokio::task::block_in_place(|| JavaPeer::start(&classes, &["router", "1"]));
    let line = tokio::task::block_in_place(|| java.line("listening"));
    let endpoint = line.strip_prefix("listening on ").expect("listening line");
    let sent: Vec<bytes::Bytes> = message().into_iter().map(Into::into).collect();
    let (peer, back) =
        native_round_trip(endpoint, &dealer().identity("native-1"), sent.clone()).await;
    assert_eq!(peer.version, ZMTP_2_0, "JeroMQ 0.3 speaks ZMTP 2.0");
    assert_eq!(peer.socket_type, SocketType::Router);
    assert_eq!(back, sent, "echoed frame for frame");
    let got = parse(&tokio::task::block_in_place(|| java.line("received")));
    assert_eq!(got[0], b"native-1", "JeroMQ routes by the identity we sent");
    assert_eq!(&got[1..], &message()[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jeromq_dealer_talks_to_a_native_router() {
    let Some(classes) = peer_classes() else {
        return;
    };
    let mut listener = NativeListener::tcp(router()).await;
    let endpoint = listener.endpoint.clone();
    let java = JavaPeer::start(&classes, &["dealer", &endpoint, "java-1"]);
    let (n, Seen::Handshake(Ok(peer))) = listener.next().await else {
        panic!("the JeroMQ dealer's handshake failed");
    };
    assert_eq!(peer.version, ZMTP_2_0);
    assert_eq!(peer.socket_type, SocketType::Dealer);
    assert_eq!(peer.identity.as_deref(), Some(&b"java-1"[..]));
    let (m, Seen::Message(got)) = listener.next().await else {
        panic!("no message from the JeroMQ dealer");
    };
    assert_eq!(m, n);
    assert_eq!(got, message());
    let echoed = parse(&tokio::task::block_in_place(|| java.line("echo")));
    assert_eq!(echoed, message(), "our echo read back by JeroMQ");
}
