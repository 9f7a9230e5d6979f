//! What the `plug` tool's test files share: running the binary with a
//! deadline, and showing its output for snapshots.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use plug_test_support::router::DEADLINE;

/// Runs `plug` with no standard input; see [`plug_with_stdin`].
pub async fn plug(args: &[&str]) -> Output {
    plug_with_stdin(args, Vec::new()).await
}

/// Runs `plug` with `stdin` as its standard input; it must end within
/// [`DEADLINE`], or it is killed and the test fails.
pub async fn plug_with_stdin(args: &[&str], stdin: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plug"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut input = child.stdin.take().unwrap();
    let run = tokio::task::spawn_blocking(move || {
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    });
    match tokio::time::timeout(DEADLINE, run).await {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("plug {args:?} hung");
        }
    }
}

pub fn show(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
