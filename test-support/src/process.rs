//! A server binary run as a child process for fault and load tests: its
//! `listening on` line, signals, its counters from the stderr line it logs
//! on exit, and its peak memory.
//!
//! Used by `echo-server/tests/{faults,load}.rs` and
//! `game-server/tests/load.rs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to start, or to exit after SIGTERM.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(20);

/// A running server binary; SIGKILLed if still running when dropped.
pub struct ServerProcess {
    child: Child,
    pub endpoint: String,
    stderr: Arc<Mutex<String>>,
}

/// The counters a serving loop logs when it stops (`plug::server::Stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounts {
    pub received: u64,
    pub replied: u64,
    pub error_replies: u64,
    pub notifications: u64,
    pub dropped_gone: u64,
    pub dropped_full: u64,
    pub dropped_incoming: u64,
    pub dropped_other: u64,
}

impl ServerProcess {
    /// Starts `bin --bind BIND ARGS...` and waits for its `listening on` line.
    pub fn start(bin: &str, bind: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new(bin);
        command.args(["--bind", bind]).args(args);
        let server = ServerProcess::spawn(command);
        let endpoint = &server.endpoint;
        assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
        server
    }

    /// Runs `command` (a server binary with its flags, or a command that
    /// runs one, such as [`crate::testbed::Host::command`]) and waits for
    /// its `listening on` line.
    pub fn spawn(mut command: Command) -> ServerProcess {
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let bin = format!("{:?} {}", command.get_program(), args.join(" "));
        let mut child = command
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let line = match rx.recv_timeout(PROCESS_DEADLINE) {
            Ok(Some(line)) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                // The process is gone, so its stderr ends: say what it said.
                let _ = reader.join();
                let said = stderr.lock().unwrap();
                panic!("no `listening on` line from {bin}: {other:?}; stderr:\n{said}");
            }
        };
        let endpoint = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        ServerProcess {
            child,
            endpoint,
            stderr,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `sig` (e.g. `libc::SIGSTOP`).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill(mut self) {
        self.signal(libc::SIGKILL);
        self.child.wait().expect("wait for the killed server");
    }

    /// Peak resident memory (VmHWM) in KiB.
    pub fn peak_memory_kib(&self) -> u64 {
        peak_memory_kib(self.pid())
    }

    /// SIGTERM, wait for a clean exit, and read the counters it logged.
    pub fn terminate(mut self) -> ServerCounts {
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGTERM);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < PROCESS_DEADLINE,
                "the server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "server exit: {status}");
        // The stderr reader sees end-of-file right after the exit.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(counts) = parse_counts(&self.stderr.lock().unwrap()) {
                return counts;
            }
            assert!(
                Instant::now() < deadline,
                "no `stopped:` line in the server's stderr:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `received 3, replied 3 (1 errors), notifications 0, dropped: gone
/// 0, full 0, incoming 0, other 0` from the line logged on exit.
pub fn parse_counts(stderr: &str) -> Option<ServerCounts> {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains(" stopped: received "))?;
    let tail = &line[line.find(" stopped: ")?..];
    let n: Vec<u64> = tail
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let [received, replied, error_replies, notifications, dropped_gone, dropped_full, dropped_incoming, dropped_other] =
        n[..]
    else {
        panic!("unexpected stats line {line:?}");
    };
    Some(ServerCounts {
        received,
        replied,
        error_replies,
        notifications,
        dropped_gone,
        dropped_full,
        dropped_incoming,
        dropped_other,
    })
}

/// Peak resident memory (VmHWM) of a process, in KiB.
pub fn peak_memory_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

/// Raises this process's open-file limit to at least `want` (children
/// inherit it). Returns the soft limit now in force.
pub fn raise_nofile(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < want {
            let max = lim.rlim_max.max(want);
            let new = libc::rlimit {
                rlim_cur: want,
                rlim_max: max,
            };
            // Raising the hard limit needs root; fall back to the hard limit.
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) != 0 {
                let capped = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &capped);
            }
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}
