//! The correct servers bundled with the harness, run in-process on
//! loopback ports for the no-argument run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::broken::{serve, Break};
use crate::case::Profile;

/// A server running on a thread of this process.
pub struct Bundled {
    /// Where it listens.
    pub endpoint: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bundled {
    /// Starts a correct `profile` server on `tcp://127.0.0.1:*`.
    pub fn start(profile: Profile) -> Result<Bundled, zmq::Error> {
        let sock = plug::context().socket(zmq::ROUTER)?;
        sock.set_linger(0)?;
        sock.bind("tcp://127.0.0.1:*")?;
        let endpoint = sock.get_last_endpoint()?.unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            if let Err(e) = serve(&sock, profile, Break::None, &flag) {
                eprintln!("bundled {profile} server: {e}");
            }
        });
        Ok(Bundled {
            endpoint,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Bundled {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
