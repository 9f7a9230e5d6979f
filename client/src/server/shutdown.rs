//! Graceful shutdown: the signal, and waiting for requests in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

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

/// Counts requests being handled, so shutdown can wait for them.
#[derive(Clone, Default)]
pub(crate) struct Tracker(Arc<TrackerInner>);

#[derive(Default)]
pub(crate) struct TrackerInner {
    active: AtomicUsize,
    idle: Notify,
}

/// One request in flight; dropping it ends the request.
pub(crate) struct Active(Tracker);

impl Tracker {
    pub fn start(&self) -> Active {
        self.0.active.fetch_add(1, Ordering::SeqCst);
        Active(self.clone())
    }

    pub fn active(&self) -> usize {
        self.0.active.load(Ordering::SeqCst)
    }

    /// Shutdown's last step: waits up to `timeout` for the `what` in
    /// flight (requests, messages) to finish, with a log line either way.
    pub async fn drain(&self, timeout: std::time::Duration, what: &str) {
        tracing::info!(
            in_flight = self.active(),
            "shutting down: no new {what}; finishing those in flight"
        );
        if tokio::time::timeout(timeout, self.idle()).await.is_err() {
            tracing::warn!(
                in_flight = self.active(),
                "drain timeout of {timeout:?} passed; returning with {what} unfinished"
            );
        }
    }

    /// Waits until no request is in flight.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.active() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if self.0 .0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0 .0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn idle_waits_for_the_last_request() {
        let t = Tracker::default();
        t.idle().await;
        let a = t.start();
        let b = t.start();
        let waiter = tokio::spawn({
            let t = t.clone();
            async move { t.idle().await }
        });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("deadline")
            .unwrap();
    }
}
