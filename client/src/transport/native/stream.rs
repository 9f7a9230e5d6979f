//! Dialing and binding `tcp://` and `ipc://` addresses.

use std::io;
use std::path::PathBuf;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::transport::Address;

/// A connected TCP or Unix stream.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Connects to `address`. A host name is resolved and each of its
/// addresses tried in turn (libzmq tries only the first).
pub(crate) async fn dial(address: &Address) -> io::Result<Stream> {
    match address {
        Address::Tcp { host, port } => {
            let mut last = None;
            for addr in tokio::net::lookup_host((host.as_str(), *port)).await? {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        // Requests are small and latency matters: no Nagle.
                        stream.set_nodelay(true)?;
                        return Ok(Stream::Tcp(stream));
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| Address::unresolvable(host)))
        }
        Address::Ipc(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
    }
}

/// A bound TCP or Unix listener.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// The path is removed when the listener is dropped.
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds `address` and returns the listener with the endpoint it really
    /// bound (a wildcard port resolved). Must run inside a tokio runtime.
    pub(crate) fn bind(address: &Address) -> io::Result<(Listener, String)> {
        match address {
            Address::Tcp { host, port } => {
                let host = Address::bind_host(host);
                let std = std::net::TcpListener::bind((host, *port))?;
                std.set_nonblocking(true)?;
                let listener = TcpListener::from_std(std)?;
                let local = listener.local_addr()?;
                Ok((Listener::Tcp(listener), Address::tcp_endpoint(local)))
            }
            Address::Ipc(path) => {
                // libzmq replaces a stale socket file the same way.
                if path.exists() {
                    let _ = std::fs::remove_file(path);
                }
                let std = std::os::unix::net::UnixListener::bind(path)?;
                std.set_nonblocking(true)?;
                let listener = UnixListener::from_std(std)?;
                let endpoint = format!("ipc://{}", path.display());
                Ok((Listener::Unix(listener, path.clone()), endpoint))
            }
        }
    }

    /// The next connection.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Listener::Unix(l, _) => Ok(Stream::Unix(l.accept().await?.0)),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}
