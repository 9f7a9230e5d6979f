//! The shutdown signal of a server binary.

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
