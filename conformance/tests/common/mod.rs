//! Running the built binaries from tests, each run with a deadline.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const HARNESS: &str = env!("CARGO_BIN_EXE_plug-conformance");
pub const BROKEN: &str = env!("CARGO_BIN_EXE_plug-broken-server");

/// The `--spawn` command for a broken server.
pub fn broken(rule: &str, mode: &str) -> String {
    format!("{BROKEN} --break {rule} --mode {mode} --bind {{endpoint}}")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub json: Option<Value>,
    pub took: Duration,
}

/// A fresh path under the target's tmp dir.
pub fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", std::process::id()))
}

/// Runs the harness with `args` plus `--json`, failing the test if it
/// takes longer than `deadline`.
pub fn harness(args: &[&str], deadline: Duration) -> Run {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let json = temp(&format!(
        "run-{}.json",
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&json);
    let mut cmd = Command::new(HARNESS);
    cmd.args(args);
    if args.first() == Some(&"check") {
        cmd.arg("--json").arg(&json);
    }
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("plug-conformance {args:?} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let json = std::fs::read_to_string(&json)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        json,
        took: start.elapsed(),
    }
}

impl Run {
    pub fn summary(&self, key: &str) -> u64 {
        self.json.as_ref().expect("a JSON report")["summary"][key]
            .as_u64()
            .unwrap()
    }

    pub fn outcome(&self, id: &str) -> String {
        let cases = self.json.as_ref().unwrap()["cases"].as_array().unwrap();
        let c = cases
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no case {id}"));
        c["outcome"].as_str().unwrap().to_owned()
    }
}
