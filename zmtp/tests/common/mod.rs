//! Shared by the integration tests: deadlines, a native listener that
//! reports what it sees, and libzmq sockets with time-outs.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use plug_zmtp::{handshake, Batch, IntoSplit, Options, PeerInfo, SocketType};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;

/// Every wait on the network ends by then.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// `fut` within [`DEADLINE`], or the test fails naming `what`.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {DEADLINE:?}"),
    }
}

/// What a native listener's connection reports, in order.
#[derive(Debug)]
pub enum Seen {
    Handshake(Result<PeerInfo, String>),
    Message(Vec<Bytes>),
    /// PINGs answered so far on this connection.
    Pings(usize),
    /// The connection ended: the error, and the read buffer's capacity then.
    Ended {
        error: String,
        buffer: usize,
    },
}

/// A native ROUTER-side listener on `tcp://127.0.0.1:0` or a Unix socket
/// that echoes every message on the connection it came from, answers
/// PINGs, and reports everything as `(connection number, Seen)`.
pub struct NativeListener {
    pub endpoint: String,
    pub seen: mpsc::UnboundedReceiver<(usize, Seen)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NativeListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl NativeListener {
    pub async fn tcp(options: Options) -> NativeListener {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        let (tx, seen) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            for n in 0.. {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(serve(n, stream, options.clone(), tx.clone()));
            }
        });
        NativeListener {
            endpoint,
            seen,
            task,
        }
    }

    pub async fn ipc(dir: &std::path::Path, options: Options) -> NativeListener {
        let path = dir.join("native.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let endpoint = format!("ipc://{}", path.display());
        let (tx, seen) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            for n in 0.. {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(n, stream, options.clone(), tx.clone()));
            }
        });
        NativeListener {
            endpoint,
            seen,
            task,
        }
    }

    /// The next report, within the deadline.
    pub async fn next(&mut self) -> (usize, Seen) {
        within("listener report", self.seen.recv())
            .await
            .expect("listener gone")
    }
}

async fn serve<S>(n: usize, stream: S, options: Options, tx: mpsc::UnboundedSender<(usize, Seen)>)
where
    S: IntoSplit + AsyncRead + AsyncWrite + Unpin,
{
    let connection = match handshake(stream, &options).await {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send((n, Seen::Handshake(Err(e.to_string()))));
            return;
        }
    };
    let _ = tx.send((n, Seen::Handshake(Ok(connection.peer().clone()))));
    let (mut reader, mut writer) = connection.into_split();
    let mut batch = Batch::default();
    let mut pings = 0;
    let error = loop {
        if let Err(e) = reader.read_batch(&mut batch).await {
            break e;
        }
        if !batch.pings.is_empty() {
            pings += batch.pings.len();
            writer.answer_pings(&mut batch);
            let _ = tx.send((n, Seen::Pings(pings)));
        }
        for message in batch.messages.drain(..) {
            writer.queue(message.clone()).unwrap();
            let _ = tx.send((n, Seen::Message(message)));
        }
        if let Err(e) = writer.flush().await {
            break e;
        }
    };
    let buffer = reader.buffer_capacity();
    let _ = tx.send((
        n,
        Seen::Ended {
            error: error.to_string(),
            buffer,
        },
    ));
}

/// The process's libzmq context.
pub fn zmq_context() -> &'static zmq::Context {
    static CONTEXT: std::sync::OnceLock<zmq::Context> = std::sync::OnceLock::new();
    CONTEXT.get_or_init(zmq::Context::new)
}

/// A libzmq socket whose sends and receives give up after the deadline.
pub fn zmq_socket(kind: zmq::SocketType) -> zmq::Socket {
    let s = zmq_context().socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
    s.set_sndtimeo(DEADLINE.as_millis() as i32).unwrap();
    s
}

/// Stops `s`'s libzmq monitor. It must run before the monitor's reader
/// closes: closing `s` does not stop it, and an event sent (with a blocking
/// send, from libzmq's I/O thread) to a reader that is gone blocks every
/// libzmq socket of the process.
pub fn stop_monitor(s: &mut zmq::Socket) {
    // SAFETY: a live socket, borrowed mutably; a null endpoint stops the
    // monitor (zmq_socket_monitor(3)).
    unsafe {
        zmq_sys::zmq_socket_monitor(s.as_mut_ptr(), std::ptr::null(), 0);
    }
}

/// Binds a libzmq socket to `tcp://127.0.0.1:*` (or an ipc path) and
/// returns the endpoint it got.
pub fn zmq_bind(s: &zmq::Socket, endpoint: &str) -> String {
    s.bind(endpoint).unwrap();
    s.get_last_endpoint().unwrap().unwrap()
}

/// Connects a native stream to a `tcp://` or `ipc://` endpoint and runs the
/// handshake.
pub async fn native_connect(endpoint: &str, options: &Options) -> Connected {
    if let Some(addr) = endpoint.strip_prefix("tcp://") {
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        Connected::Tcp(within("handshake", handshake(s, options)).await.unwrap())
    } else {
        let path = endpoint.strip_prefix("ipc://").expect("tcp:// or ipc://");
        let s = tokio::net::UnixStream::connect(path).await.unwrap();
        Connected::Ipc(within("handshake", handshake(s, options)).await.unwrap())
    }
}

pub enum Connected {
    Tcp(plug_zmtp::Connection<tokio::net::TcpStream>),
    Ipc(plug_zmtp::Connection<tokio::net::UnixStream>),
}

/// Sends `message` on a fresh native connection and returns the first
/// message that comes back, and the peer.
pub async fn native_round_trip(
    endpoint: &str,
    options: &Options,
    message: Vec<Bytes>,
) -> (PeerInfo, Vec<Bytes>) {
    async fn run<S: IntoSplit>(
        c: plug_zmtp::Connection<S>,
        message: Vec<Bytes>,
    ) -> (PeerInfo, Vec<Bytes>) {
        let peer = c.peer().clone();
        let (mut reader, mut writer) = c.into_split();
        within("send", writer.send(message)).await.unwrap();
        let mut batch = Batch::default();
        while batch.messages.is_empty() {
            within("reply", reader.read_batch(&mut batch))
                .await
                .unwrap();
        }
        (peer, batch.messages.remove(0))
    }
    match native_connect(endpoint, options).await {
        Connected::Tcp(c) => run(c, message).await,
        Connected::Ipc(c) => run(c, message).await,
    }
}

pub fn frames(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

pub fn dealer() -> Options {
    Options::new(SocketType::Dealer)
}

pub fn router() -> Options {
    Options::new(SocketType::Router)
}
