//! The native backend of [`Conn`](super::Conn): ZMTP 3.1 spoken by
//! `plug-zmtp` on a current-thread tokio runtime the connection owns, run
//! only inside the connection's own calls, each with a deadline.
//!
//! What libzmq does for a DEALER or REQ client, done here the same way the
//! cases can observe it:
//! - connecting retries (every 100 ms, as libzmq's reconnect interval)
//!   until a handshake succeeds within the run's timeout; a connection the
//!   server drops is made again by the next call, and a message not yet
//!   written whole is sent again on the new one;
//! - the routing id is READY's `Identity`, `rcvbuf` is `SO_RCVBUF` (set
//!   before connecting), and the server's `Socket-Type` comes from its
//!   READY;
//! - messages arrive only while a call runs: while a send waits for room
//!   it reads ahead, at most `rcvhwm` messages (1000 by default, libzmq's
//!   receive high-water mark); between calls nothing is read, so a case
//!   that stops receiving leaves the server's replies in the kernel buffers
//!   and the server's queues;
//! - a REQ client adds the empty delimiter, has one request out at a time
//!   and strips the delimiter from the reply; a message without one closes
//!   the connection (libzmq's REQ session does that), which is made again;
//! - the server's PINGs are answered whenever the connection reads;
//! - `try_send` gives up when the kernel's send buffer stays full for a
//!   millisecond.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use plug_zmtp::{Batch, Error, Limits, PeerInfo, Reader, SocketType, Writer};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::runtime::Runtime;
use tokio::time::Instant;

use super::{Failure, Options, Received};
use crate::trace::Trace;

/// libzmq's `ZMQ_RECONNECT_IVL`.
const RETRY: Duration = Duration::from_millis(100);
/// How long a call that must not block still lets the runtime look at the
/// socket (readiness comes from the reactor, which runs only in a call).
const GRACE: Duration = Duration::from_millis(1);
/// libzmq's default `ZMQ_RCVHWM`.
const DEFAULT_HWM: usize = 1000;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Stream = Box<dyn Io>;

/// Where the connection dials.
#[derive(Clone, Debug)]
enum Address {
    Tcp { host: String, port: u16 },
    Ipc(std::path::PathBuf),
}

impl Address {
    /// Reads `endpoint` with the kit's endpoint parser (`plug::Endpoint`);
    /// what the native transport cannot dial is named, with the way out.
    fn parse(endpoint: &str) -> Result<Address, String> {
        let libzmq_only = || {
            format!(
                "the native transport reaches tcp:// and ipc:// endpoints, not `{endpoint}`: use \
                 --transport libzmq"
            )
        };
        if endpoint.starts_with("tcp://") && endpoint.contains(';') {
            return Err(format!(
                "`{endpoint}`: a source address (tcp://SOURCE;HOST:PORT) needs --transport \
                 libzmq"
            ));
        }
        let parsed = match endpoint.parse::<plug::Endpoint>() {
            Ok(parsed) => parsed,
            Err(e) if endpoint.starts_with("tcp://") => {
                return Err(format!(
                    "`{endpoint}` is not tcp://HOST:PORT: {}",
                    e.reason()
                ))
            }
            Err(_) => return Err(libzmq_only()),
        };
        match parsed.address() {
            plug::Address::Tcp {
                host,
                port: Some(port),
            } => {
                let host = match host {
                    plug::Host::Ipv4(a) => a.to_string(),
                    plug::Host::Ipv6(a) => a.to_string(),
                    plug::Host::Name(name) => name.clone(),
                    _ => return Err(format!("`{endpoint}` is not tcp://HOST:PORT")),
                };
                Ok(Address::Tcp { host, port: *port })
            }
            plug::Address::Ipc(path) => Ok(Address::Ipc(path.into())),
            plug::Address::Tcp { port: None, .. } => {
                Err(format!("`{endpoint}` is not tcp://HOST:PORT"))
            }
            _ => Err(libzmq_only()),
        }
    }
}

/// What to connect to, and as what.
#[derive(Clone, Debug)]
pub(crate) struct Dialer {
    address: Address,
    options: plug_zmtp::Options,
    rcvbuf: Option<i32>,
}

/// Why no connection was made; `permanent` when trying again cannot help.
#[derive(Debug)]
pub(crate) struct DialError {
    pub reason: String,
    pub permanent: bool,
    /// The server accepted the connection and closed it in the greeting.
    in_greeting: bool,
}

/// Hang-ups in the greeting, one after another, that make a server one
/// that will never finish a handshake with us (a server still starting
/// refuses connections instead).
const GREETING_HANGUPS: u32 = 3;

impl Dialer {
    pub fn new(endpoint: &str, kind: zmq::SocketType, options: &Options) -> Result<Dialer, String> {
        let socket_type = if kind == zmq::REQ {
            SocketType::Req
        } else {
            SocketType::Dealer
        };
        let mut zmtp = plug_zmtp::Options::new(socket_type).limits(Limits {
            // As libzmq's default ZMQ_MAXMSGSIZE (-1): the judge takes any size.
            max_message_size: u64::MAX,
            max_frames: usize::MAX,
            ..Limits::default()
        });
        if let Some(id) = &options.routing_id {
            zmtp = zmtp.identity(id.clone());
        }
        zmtp.check().map_err(|e| e.to_string())?;
        Ok(Dialer {
            address: Address::parse(endpoint)?,
            options: zmtp,
            rcvbuf: options.rcvbuf,
        })
    }

    /// Connects and completes the handshake, trying again every 100 ms
    /// until `deadline`; `stop` may end the wait early with a reason.
    pub async fn connect(
        &self,
        deadline: Instant,
        stop: &mut dyn FnMut() -> Option<String>,
    ) -> Result<(Link, PeerInfo), DialError> {
        let mut last = "no connection was made".to_owned();
        let mut hangups = 0;
        loop {
            if let Some(why) = stop() {
                return Err(DialError::permanent(why));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DialError::transient(last));
            }
            let attempt = async {
                let stream = self.dial().await.map_err(|e| self.refused(e))?;
                let options = self.options.clone().handshake_timeout(left);
                plug_zmtp::handshake(stream, &options)
                    .await
                    .map_err(handshake_failed)
            };
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(connection)) => {
                    let peer = connection.peer().clone();
                    let (reader, writer) = connection.split();
                    let link = Link {
                        reader,
                        writer,
                        batch: Batch::default(),
                    };
                    return Ok((link, peer));
                }
                Ok(Err(e)) if e.permanent => return Err(e),
                Ok(Err(e)) if e.in_greeting => {
                    hangups += 1;
                    if hangups >= GREETING_HANGUPS {
                        return Err(DialError::permanent(e.reason));
                    }
                    last = e.reason;
                }
                Ok(Err(e)) => {
                    hangups = 0;
                    last = e.reason;
                }
                Err(_) => {
                    last = "a connection was accepted but no ZeroMQ handshake completed (is it \
                            a ZeroMQ server?)"
                        .to_owned()
                }
            }
            let pause = deadline
                .saturating_duration_since(Instant::now())
                .min(RETRY);
            tokio::time::sleep(pause).await;
        }
    }

    async fn dial(&self) -> io::Result<Stream> {
        match &self.address {
            Address::Tcp { host, port } => {
                let mut last = None;
                for addr in tokio::net::lookup_host((host.as_str(), *port)).await? {
                    let socket = if addr.is_ipv4() {
                        tokio::net::TcpSocket::new_v4()?
                    } else {
                        tokio::net::TcpSocket::new_v6()?
                    };
                    if let Some(n) = self.rcvbuf {
                        socket.set_recv_buffer_size(n.max(1) as u32)?;
                    }
                    match socket.connect(addr).await {
                        Ok(stream) => {
                            stream.set_nodelay(true)?;
                            return Ok(Box::new(stream));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("`{host}` resolves to no address"),
                    )
                }))
            }
            Address::Ipc(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?;
                if let Some(n) = self.rcvbuf {
                    set_rcvbuf(&stream, n)?;
                }
                Ok(Box::new(stream))
            }
        }
    }

    fn refused(&self, e: io::Error) -> DialError {
        let reason = match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                "the connection was refused (nothing listening there yet)".to_owned()
            }
            io::ErrorKind::NotFound if matches!(self.address, Address::Ipc(_)) => {
                "no socket at that path (nothing listening there yet)".to_owned()
            }
            _ => format!("cannot connect: {e}"),
        };
        DialError::transient(reason)
    }
}

impl DialError {
    fn permanent(reason: String) -> DialError {
        DialError {
            reason,
            permanent: true,
            in_greeting: false,
        }
    }

    fn transient(reason: String) -> DialError {
        DialError {
            reason,
            permanent: false,
            in_greeting: false,
        }
    }
}

fn set_rcvbuf(stream: &tokio::net::UnixStream, bytes: i32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open socket and a c_int option value of the right size.
    let r = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// How a handshake failed, in the words the report uses; permanent when
/// the server said or showed it will never accept this client.
fn handshake_failed(e: Error) -> DialError {
    let in_greeting = matches!(e, Error::ClosedInGreeting { .. });
    let (reason, permanent) = match e {
        Error::ClosedInGreeting { received } => (
            "the server closed the connection during the ZMTP greeting: it probably uses \
             CURVE or PLAIN; the native transport speaks NULL security only (--transport \
             libzmq speaks the others)"
                .to_owned(),
            received > 0,
        ),
        Error::Closed => (
            "the connection was closed before a ZeroMQ handshake completed".to_owned(),
            false,
        ),
        Error::Timeout(_) => (
            "a connection was accepted but no ZeroMQ handshake completed (is it a ZeroMQ \
             server?)"
                .to_owned(),
            false,
        ),
        Error::Io(e) => (format!("transport error in the handshake: {e}"), false),
        Error::Refused { reason } => (
            format!("the server refused the handshake (ZMTP ERROR): {reason}"),
            true,
        ),
        other => (format!("the ZeroMQ handshake failed: {other}"), true),
    };
    DialError {
        reason,
        permanent,
        in_greeting,
    }
}

/// One connection after its handshake.
pub(crate) struct Link {
    reader: Reader<ReadHalf<Stream>>,
    writer: Writer<WriteHalf<Stream>>,
    batch: Batch,
}

/// Why a link ended.
enum Ended {
    Zmtp(Error),
    /// REQ: a message that does not start with the empty delimiter. libzmq's
    /// REQ session refuses it and closes the connection (then connects
    /// again, as a new peer).
    NoDelimiter(Vec<Bytes>),
}

impl From<Error> for Ended {
    fn from(e: Error) -> Ended {
        Ended::Zmtp(e)
    }
}

impl Link {
    /// Reads (while `inbound` has room) and writes what is queued until
    /// `done` holds. PINGs are answered as they arrive. For `req`, every
    /// message must start with the empty delimiter. Cancel-safe.
    async fn pump(
        &mut self,
        inbound: &mut VecDeque<Vec<Bytes>>,
        room: usize,
        req: bool,
        done: &dyn Fn(&Link, &VecDeque<Vec<Bytes>>) -> bool,
    ) -> Result<(), Ended> {
        loop {
            if done(self, inbound) {
                return Ok(());
            }
            let read = inbound.len() < room;
            let write = !self.writer.is_empty();
            tokio::select! {
                r = self.reader.read_batch(&mut self.batch), if read => {
                    for m in self.batch.messages.drain(..) {
                        if req && !(m.len() >= 2 && m[0].is_empty()) {
                            return Err(Ended::NoDelimiter(m));
                        }
                        inbound.push_back(m);
                    }
                    self.writer.answer_pings(&mut self.batch);
                    self.batch.pongs.clear();
                    self.batch.commands.clear();
                    r?;
                }
                r = self.writer.flush(), if write => r?,
                else => std::future::pending::<()>().await,
            }
        }
    }
}

/// The connection's state between calls.
struct State {
    link: Option<Link>,
    /// Messages read ahead, not yet received by the case.
    inbound: VecDeque<Vec<Bytes>>,
    /// Messages queued on the link and not known to be written whole: sent
    /// again on a new connection if this one ends first.
    unsent: Vec<Vec<Bytes>>,
    /// REQ: a request is out and its reply has not been received.
    awaiting_reply: bool,
    peer_type: String,
}

/// A DEALER or REQ client on the native transport.
pub(super) struct Socket {
    state: RefCell<State>,
    rt: Runtime,
    dialer: Dialer,
    req: bool,
    room: usize,
    timeout: Duration,
    trace: Trace,
    name: &'static str,
}

/// A current-thread runtime for one connection or one probe.
pub(crate) fn runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}

impl Socket {
    pub fn open(
        endpoint: &str,
        kind: zmq::SocketType,
        timeout: Duration,
        options: &Options,
        trace: Trace,
        name: &'static str,
    ) -> Result<Socket, String> {
        let dialer = Dialer::new(endpoint, kind, options)?;
        let rt = runtime().map_err(|e| format!("no tokio runtime: {e}"))?;
        let deadline = Instant::now() + timeout;
        let (link, peer) = rt
            .block_on(dialer.connect(deadline, &mut || None))
            .map_err(|e| {
                if e.permanent {
                    format!("no ZeroMQ handshake: {}", e.reason)
                } else {
                    format!(
                        "no ZeroMQ handshake within {} ms: {}",
                        timeout.as_millis(),
                        e.reason
                    )
                }
            })?;
        let room = options
            .rcvhwm
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_HWM);
        Ok(Socket {
            state: RefCell::new(State {
                link: Some(link),
                inbound: VecDeque::new(),
                unsent: Vec::new(),
                awaiting_reply: false,
                peer_type: peer.socket_type.to_string(),
            }),
            rt,
            dialer,
            req: kind == zmq::REQ,
            room,
            timeout,
            trace,
            name,
        })
    }

    /// The server's `Socket-Type`, from its READY.
    pub fn peer_type(&self) -> String {
        self.state.borrow().peer_type.clone()
    }

    /// Sends one message. With `wait`, waits at most the reply timeout for
    /// the kernel to take it; without, `Ok(false)` when the kernel's send
    /// buffer is full.
    pub fn send(&self, frames: &[&[u8]], wait: bool) -> Result<bool, Failure> {
        let mut st = self.state.borrow_mut();
        if self.req && st.awaiting_reply {
            return Err(Failure::State(
                "a REQ socket sends one request at a time, and the reply to the last one has \
                 not been received"
                    .to_owned(),
            ));
        }
        let deadline = Instant::now() + self.timeout;
        let delimiter = self.req.then(Bytes::new);
        let message: Vec<Bytes> = delimiter
            .into_iter()
            .chain(frames.iter().map(|f| Bytes::copy_from_slice(f)))
            .collect();
        let written = |l: &Link, _: &VecDeque<Vec<Bytes>>| l.writer.is_empty();
        if !wait {
            self.ensure_link(&mut st, deadline)?;
            // Room first: what an earlier call left must go out now.
            if self.drive(&mut st, Instant::now() + GRACE, &written) != Some(true) {
                return Ok(false);
            }
        }
        self.ensure_link(&mut st, deadline)?;
        queue(&mut st, message);
        let sent = if wait {
            self.drive_to(&mut st, deadline, &written)?
        } else {
            // Taken: the rest (if any) goes out with the next call.
            let _ = self.drive(&mut st, Instant::now() + GRACE, &written);
            true
        };
        if !sent {
            return Err(Failure::Timeout);
        }
        if self.req {
            st.awaiting_reply = true;
        }
        Ok(true)
    }

    /// The next message within `wait` (at least a millisecond, so that a
    /// zero wait still takes what the kernel holds).
    pub fn recv(&self, wait: Duration) -> Result<Option<Received>, Failure> {
        let mut st = self.state.borrow_mut();
        let deadline = Instant::now() + wait.max(GRACE);
        loop {
            if let Some(frames) = self.deliver(&mut st) {
                return Ok(Some(Received {
                    frames,
                    socket_type: None,
                }));
            }
            let req = self.req;
            let awaiting = st.awaiting_reply;
            let arrived = move |_: &Link, inbound: &VecDeque<Vec<Bytes>>| {
                !inbound.is_empty() && (!req || awaiting)
            };
            // A lost connection that cannot be made again within the wait
            // is silence, as on libzmq (the trace says why).
            if self.ensure_link(&mut st, deadline).is_err() {
                return Ok(None);
            }
            match self.drive_to(&mut st, deadline, &arrived) {
                Ok(true) => continue,
                Ok(false) | Err(_) => {
                    return Ok(self.deliver(&mut st).map(|frames| Received {
                        frames,
                        socket_type: None,
                    }))
                }
            }
        }
    }

    /// The next message for the case: REQ strips the delimiter (every
    /// message read has one), and gives nothing while no request is out.
    fn deliver(&self, st: &mut State) -> Option<Vec<Vec<u8>>> {
        if self.req && !st.awaiting_reply {
            return None;
        }
        let m = st.inbound.pop_front()?;
        let body = if self.req {
            st.awaiting_reply = false;
            &m[1..]
        } else {
            &m[..]
        };
        Some(body.iter().map(|f| f.to_vec()).collect())
    }

    /// Runs the link until `done`, the deadline, or the link's end (then
    /// connecting again, up to the deadline). `Ok(false)` at the deadline.
    fn drive_to(
        &self,
        st: &mut State,
        deadline: Instant,
        done: &dyn Fn(&Link, &VecDeque<Vec<Bytes>>) -> bool,
    ) -> Result<bool, Failure> {
        loop {
            match self.drive(st, deadline, done) {
                Some(finished) => return Ok(finished),
                None => self.ensure_link(st, deadline)?,
            }
        }
    }

    /// One run of the link: `Some(true)` when `done`, `Some(false)` at the
    /// deadline, `None` when the link ended (noted in the trace).
    fn drive(
        &self,
        st: &mut State,
        deadline: Instant,
        done: &dyn Fn(&Link, &VecDeque<Vec<Bytes>>) -> bool,
    ) -> Option<bool> {
        let State {
            link,
            inbound,
            unsent,
            ..
        } = st;
        let l = link.as_mut()?;
        let run = async {
            tokio::time::timeout_at(deadline, l.pump(inbound, self.room, self.req, done)).await
        };
        let outcome = match self.rt.block_on(run) {
            Ok(Ok(())) => Some(true),
            Err(_) => Some(false),
            Ok(Err(e)) => {
                self.lost(st, &e);
                return None;
            }
        };
        if l.writer.is_empty() {
            unsent.clear();
        }
        outcome
    }

    fn lost(&self, st: &mut State, e: &Ended) {
        st.link = None;
        let why = match e {
            Ended::Zmtp(Error::Closed) => "the server closed it".to_owned(),
            Ended::Zmtp(Error::Refused { reason }) => {
                format!("the server sent ZMTP ERROR: {reason}")
            }
            Ended::Zmtp(Error::Protocol(p)) => format!("the server broke ZMTP: {p}"),
            Ended::Zmtp(other) => other.to_string(),
            Ended::NoDelimiter(m) => format!(
                "the REQ socket closed it on a message without the empty delimiter, as \
                 libzmq's does: {}",
                crate::trace::show_frames(m)
            ),
        };
        self.trace.note(format!(
            "{}: the connection ended ({why}); connecting again",
            self.name
        ));
    }

    /// A link, connecting again if the last one ended; a message that was
    /// not known to be written whole is queued on the new link.
    fn ensure_link(&self, st: &mut State, deadline: Instant) -> Result<(), Failure> {
        if st.link.is_some() {
            return Ok(());
        }
        let connected = self
            .rt
            .block_on(self.dialer.connect(deadline, &mut || None));
        match connected {
            Ok((link, peer)) => {
                st.link = Some(link);
                st.peer_type = peer.socket_type.to_string();
                for m in std::mem::take(&mut st.unsent) {
                    queue(st, m);
                }
                self.trace.note(format!("{}: connected again", self.name));
                Ok(())
            }
            Err(e) => {
                self.trace.note(format!(
                    "{}: not connected again in time: {}",
                    self.name, e.reason
                ));
                Err(Failure::Transport(format!(
                    "the connection ended and was not made again in time: {}",
                    e.reason
                )))
            }
        }
    }
}

fn queue(st: &mut State, message: Vec<Bytes>) {
    if let Some(link) = st.link.as_mut() {
        link.writer
            .queue(message.iter().cloned())
            .expect("a message of at least one frame");
    }
    st.unsent.push(message);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every wait of these tests.
    const WAIT: Duration = Duration::from_secs(5);

    /// A libzmq ROUTER on a free loopback port, set up by `setup` first.
    fn router(setup: impl FnOnce(&zmq::Socket)) -> (zmq::Socket, String) {
        let sock = plug::socket::context().socket(zmq::ROUTER).unwrap();
        sock.set_linger(0).unwrap();
        setup(&sock);
        sock.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = sock.get_last_endpoint().unwrap().unwrap();
        (sock, endpoint)
    }

    fn server_recv(sock: &zmq::Socket) -> Vec<Vec<u8>> {
        let ready = sock.poll(zmq::POLLIN, WAIT.as_millis() as i64).unwrap();
        assert!(ready > 0, "the server got nothing within {WAIT:?}");
        sock.recv_multipart(0).unwrap()
    }

    fn open(endpoint: &str, kind: zmq::SocketType, options: &Options) -> (Socket, Trace) {
        let trace = Trace::default();
        let socket = Socket::open(endpoint, kind, WAIT, options, trace.clone(), "A").unwrap();
        (socket, trace)
    }

    fn frames(got: Option<Received>) -> Vec<Vec<u8>> {
        got.expect("a message").frames
    }

    /// Receives until the trace has a line containing `text` (within WAIT).
    fn until_noted(socket: &Socket, trace: &Trace, text: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        while !trace.lines().iter().any(|l| l.contains(text)) {
            assert!(
                std::time::Instant::now() < deadline,
                "no `{text}` in the trace: {:?}",
                trace.lines()
            );
            let _ = socket.recv(Duration::from_millis(50)).unwrap();
        }
    }

    #[test]
    fn a_dealer_sends_its_routing_id_and_learns_the_socket_type() {
        let (server, endpoint) = router(|_| {});
        let options = Options {
            routing_id: Some(b"judge-1".to_vec()),
            ..Options::default()
        };
        let (client, _) = open(&endpoint, zmq::DEALER, &options);
        assert_eq!(client.peer_type(), "ROUTER");
        assert!(client.send(&[b"hello", b""], true).unwrap());
        assert_eq!(
            server_recv(&server),
            [b"judge-1".to_vec(), b"hello".to_vec(), Vec::new()]
        );
        server
            .send_multipart([&b"judge-1"[..], b"back"], 0)
            .unwrap();
        assert_eq!(frames(client.recv(WAIT).unwrap()), [b"back".to_vec()]);
    }

    #[test]
    fn req_adds_and_strips_the_delimiter_one_request_at_a_time() {
        let (server, endpoint) = router(|_| {});
        let (client, _) = open(&endpoint, zmq::REQ, &Options::default());
        assert!(client.send(&[b"q"], true).unwrap());
        let got = server_recv(&server);
        assert_eq!(got[1..], [Vec::new(), b"q".to_vec()]);
        assert!(matches!(
            client.send(&[b"again"], true),
            Err(Failure::State(_))
        ));
        server.send_multipart([&got[0][..], b"", b"a"], 0).unwrap();
        assert_eq!(frames(client.recv(WAIT).unwrap()), [b"a".to_vec()]);
        assert!(client.send(&[b"next"], true).unwrap());
        assert_eq!(server_recv(&server)[1..], [Vec::new(), b"next".to_vec()]);
    }

    #[test]
    fn req_closes_on_a_message_without_the_delimiter_and_connects_again() {
        let (server, endpoint) = router(|_| {});
        let (client, trace) = open(&endpoint, zmq::REQ, &Options::default());
        assert!(client.send(&[b"q"], true).unwrap());
        let id = server_recv(&server)[0].clone();
        server.send_multipart([&id[..], b"push"], 0).unwrap();
        until_noted(&client, &trace, "connected again");
        assert!(
            trace
                .lines()
                .iter()
                .any(|l| l.contains("without the empty delimiter") && l.contains("push")),
            "{:?}",
            trace.lines()
        );
    }

    #[test]
    fn a_connection_the_server_drops_is_made_again() {
        // libzmq drops a connection that sends a message above its bound.
        let (server, endpoint) = router(|s| s.set_maxmsgsize(100).unwrap());
        let (client, trace) = open(&endpoint, zmq::DEALER, &Options::default());
        assert!(client.send(&[&[b'x'; 200][..]], true).unwrap());
        until_noted(&client, &trace, "connected again");
        assert!(client.send(&[b"small"], true).unwrap());
        assert_eq!(server_recv(&server)[1..], [b"small".to_vec()]);
    }

    #[test]
    fn try_send_is_false_once_the_kernel_takes_no_more() {
        // The server reads nothing: its queue holds one message, then the
        // kernel buffers fill.
        let (_server, endpoint) = router(|s| {
            s.set_rcvhwm(1).unwrap();
            s.set_rcvbuf(4096).unwrap();
        });
        let (client, _) = open(&endpoint, zmq::DEALER, &Options::default());
        let big = vec![b'x'; 64 << 10];
        let taken = (0..2000)
            .take_while(|_| client.send(&[big.as_slice()], false).unwrap())
            .count();
        assert!(
            taken > 0 && taken < 2000,
            "{taken} messages of 64 KiB taken"
        );
    }

    #[test]
    fn pings_are_answered_while_the_client_waits() {
        // A server that PINGs every 100 ms and closes a connection silent
        // for a second after a PING.
        let (server, endpoint) = router(|s| {
            s.set_heartbeat_ivl(100).unwrap();
            s.set_heartbeat_timeout(1000).unwrap();
        });
        let (client, trace) = open(&endpoint, zmq::DEALER, &Options::default());
        assert!(client.send(&[b"first"], true).unwrap());
        let id = server_recv(&server)[0].clone();
        assert!(client.recv(Duration::from_secs(3)).unwrap().is_none());
        assert!(client.send(&[b"second"], true).unwrap());
        assert_eq!(server_recv(&server), [id, b"second".to_vec()]);
        assert!(
            !trace.lines().iter().any(|l| l.contains("ended")),
            "{:?}",
            trace.lines()
        );
    }

    /// A server that accepts and hangs up before its greeting (as libzmq
    /// does on a mechanism it does not use) is given up on after a few
    /// tries, not at the deadline.
    #[test]
    fn a_server_that_hangs_up_in_the_greeting_is_given_up_on() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        let hangups = std::thread::spawn(move || {
            for _ in 0..GREETING_HANGUPS {
                drop(listener.accept().unwrap());
            }
        });
        let dialer = Dialer::new(&endpoint, zmq::DEALER, &Options::default()).unwrap();
        let start = std::time::Instant::now();
        let got = runtime()
            .unwrap()
            .block_on(dialer.connect(Instant::now() + 4 * WAIT, &mut || None));
        let e = got.err().expect("no handshake");
        assert!(e.permanent && e.reason.contains("CURVE or PLAIN"), "{e:?}");
        assert!(start.elapsed() < WAIT, "took {:?}", start.elapsed());
        hangups.join().unwrap();
    }

    #[test]
    fn endpoints_the_native_transport_cannot_reach_say_so() {
        assert!(matches!(
            Address::parse("tcp://[::1]:5"),
            Ok(Address::Tcp { host, port: 5 }) if host == "::1"
        ));
        assert!(matches!(
            Address::parse("ipc:///tmp/s"),
            Ok(Address::Ipc(_))
        ));
        for (endpoint, says) in [
            ("inproc://x", "--transport libzmq"),
            ("tcp://127.0.0.1;127.0.0.1:5", "--transport libzmq"),
            ("tcp://h:0", "tcp://HOST:PORT"),
            ("ipc://", "--transport libzmq"),
        ] {
            let e = Address::parse(endpoint).unwrap_err();
            assert!(e.contains(says), "{endpoint}: {e}");
        }
    }
}
