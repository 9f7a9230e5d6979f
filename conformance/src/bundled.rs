//! The correct reference servers (the `echo-server` crate), run in-process
//! on loopback ports for the no-argument run and for tests.

use std::sync::mpsc;
use std::thread::JoinHandle;

use plug::server::{bind_in, SocketOptions};
use tokio::sync::oneshot;

use crate::case::Profile;

/// An echo server running on a thread of this process.
pub struct Bundled {
    /// Where it listens.
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Bundled {
    /// Starts a correct `profile` echo server on `tcp://127.0.0.1:*`.
    pub fn start(profile: Profile) -> Result<Bundled, String> {
        let mode = match profile {
            Profile::Rpc => echo_server::Mode::Rpc,
            Profile::Raw => echo_server::Mode::Raw,
        };
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let bound = bind_in(
                    plug::socket::context(),
                    "tcp://127.0.0.1:*",
                    &SocketOptions::default(),
                );
                let (socket, endpoint) = match bound {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(endpoint));
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                if let Err(e) = echo_server::run(socket, mode, shutdown).await {
                    eprintln!("bundled {profile} echo server: {e}");
                }
            });
        });
        let endpoint = ready_rx
            .recv()
            .map_err(|_| "the echo server thread ended before binding".to_owned())??;
        Ok(Bundled {
            endpoint,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Bundled {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
