//! Graceful shutdown: the signal, and waiting for the requests in flight.
//!
//! Each request (or raw message) in flight holds a token of the loop's
//! [`TaskTracker`], whether it runs on the receiving task or in a task of
//! its own; [`drain`] closes the tracker and waits for the last token.

use std::time::Duration;

use tokio_util::task::TaskTracker;

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
///
/// Pass it as the `shutdown` argument of [`run_rpc`](super::run_rpc) or
/// [`run_raw`](super::run_raw) in a binary; tests pass a oneshot receiver
/// or any other future instead.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Shutdown's last step: closes `tracker` and waits up to `timeout` for the
/// `what` in flight (requests, messages) to finish, with a log line either
/// way.
pub(crate) async fn drain(tracker: &TaskTracker, timeout: Duration, what: &str) {
    tracker.close();
    tracing::info!(
        in_flight = tracker.len(),
        "shutting down: no new {what}; finishing those in flight"
    );
    if tokio::time::timeout(timeout, tracker.wait()).await.is_err() {
        tracing::warn!(
            in_flight = tracker.len(),
            "drain timeout of {timeout:?} passed; returning with {what} unfinished"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    // Paused time: the clock jumps to the next timer when every task waits,
    // so the durations below are exact and no test waits for real.

    #[tokio::test(start_paused = true)]
    async fn drain_returns_when_the_last_request_ends() {
        let tracker = TaskTracker::new();
        drain(&tracker, Duration::from_secs(10), "requests").await;
        let started = Instant::now();
        let tracker = TaskTracker::new();
        for secs in [1, 3] {
            let token = tracker.token();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                drop(token);
            });
        }
        drain(&tracker, Duration::from_secs(10), "requests").await;
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        assert!(tracker.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn drain_gives_up_after_its_timeout() {
        let tracker = TaskTracker::new();
        let _stuck = tracker.token();
        let started = Instant::now();
        drain(&tracker, Duration::from_secs(10), "requests").await;
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert_eq!(tracker.len(), 1);
    }
}
