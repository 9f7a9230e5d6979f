//! The `tracing` output of this test process, captured so that a test can
//! wait for a line that an in-process server logs when it reaches a state
//! (a peer's queue is full, a reply was dropped): evidence, not a pause.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How long [`Logs::wait_for`] waits.
pub const LOG_DEADLINE: Duration = Duration::from_secs(20);

/// Everything logged in this process since [`capture`] was first called.
pub struct Logs {
    text: Arc<Mutex<Vec<u8>>>,
}

/// Starts capturing this process's logs (the plug crate's at debug level,
/// everything else at info) the first time it is called, and returns
/// them. A test binary that calls it must not install a subscriber of its
/// own.
pub fn capture() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let text = Arc::new(Mutex::new(Vec::new()));
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("info,plug=debug"))
            .with_ansi(false)
            .with_writer(Sink(text.clone()))
            .init();
        Logs { text }
    })
}

impl Logs {
    /// Whether a captured line contains every one of `needles`.
    pub fn contains(&self, needles: &[&str]) -> bool {
        let text = self.text.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&text)
            .lines()
            .any(|line| needles.iter().all(|n| line.contains(n)))
    }

    /// Waits until a captured line contains every one of `needles`, failing
    /// the test after [`LOG_DEADLINE`].
    pub fn wait_for(&self, needles: &[&str]) {
        let started = Instant::now();
        while !self.contains(needles) {
            assert!(
                started.elapsed() < LOG_DEADLINE,
                "no log line with {needles:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = Sink;
    fn make_writer(&'a self) -> Sink {
        self.clone()
    }
}
