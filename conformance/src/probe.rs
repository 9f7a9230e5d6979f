//! Is the server there, and what is it? Before any case: whether a ZeroMQ
//! peer completes the handshake at all (libzmq's socket monitor, or a
//! native handshake), then the
//! first round trip (which also tells a REP socket, and measures how fast
//! the server serves), and after a failed case whether it still answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use plug::transport::Transport;

use crate::case::{fail, Ctx, Profile, ServerFacts, SocketKind, Step, Verdict};
use crate::conn::native::{self, Dialer};
use crate::conn::Options;
use crate::hints;
use crate::raw_conn::RawConn;
use crate::rpc::{Request, RpcConn, Style};

/// Why no ZeroMQ peer was found (exit status 2).
#[derive(Debug, Clone)]
pub(crate) struct NoPeer(pub String);

use zmq::SocketEvent as E;

const WATCHED: [E; 8] = [
    E::CONNECTED,
    E::CONNECT_RETRIED,
    E::DISCONNECTED,
    E::CLOSED,
    E::HANDSHAKE_SUCCEEDED,
    E::HANDSHAKE_FAILED_NO_DETAIL,
    E::HANDSHAKE_FAILED_PROTOCOL,
    E::HANDSHAKE_FAILED_AUTH,
];

/// What the socket monitor saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// `ZMQ_EVENT_HANDSHAKE_SUCCEEDED`: a ZMTP 3 peer.
    Done,
    /// A connection that stays up without that event: a peer speaking an
    /// older ZMTP (JeroMQ 0.3, for one) or something silent; only an
    /// answer tells them apart.
    Unconfirmed,
}

/// Waits until a ZeroMQ handshake with `endpoint` succeeds on `transport`,
/// for at most `limit`; `exited` says whether a spawned server has already
/// exited.
pub(crate) fn handshake(
    endpoint: &str,
    transport: Transport,
    curve: Option<&plug::CurveClient>,
    limit: Duration,
    exited: &mut dyn FnMut() -> Option<String>,
) -> Result<Handshake, NoPeer> {
    if transport == Transport::Native {
        return native_handshake(endpoint, limit, exited);
    }
    static N: AtomicU64 = AtomicU64::new(1);
    // A context of its own, terminated on return: terminating waits until
    // the probe's connection is closed. A DEALER server (2.1-c) that still
    // had it open would send the next case's first reply to it.
    let ctx = zmq::Context::new();
    let err = |e: zmq::Error| NoPeer(format!("libzmq: {e}"));
    let mut sock = ctx.socket(zmq::DEALER).map_err(err)?;
    sock.set_linger(0).map_err(err)?;
    let monitor = format!(
        "inproc://plug-conformance-monitor-{}",
        N.fetch_add(1, Ordering::Relaxed)
    );
    if let Some(c) = curve {
        c.apply(&sock).map_err(|e| NoPeer(e.to_string()))?;
    }
    let events_mask = WATCHED.iter().fold(0, |m, e| m | i32::from(e.to_raw()));
    sock.monitor(&monitor, events_mask).map_err(err)?;
    let events = ctx.socket(zmq::PAIR).map_err(err)?;
    events.set_linger(0).map_err(err)?;
    events.connect(&monitor).map_err(err)?;
    let seen = match sock.connect(endpoint) {
        Ok(()) => watch_handshake(&events, endpoint, limit, exited),
        Err(e) => Err(NoPeer(format!(
            "libzmq refuses the endpoint {endpoint}: {e}"
        ))),
    };
    // Before `events` closes: an event sent to a reader that is gone would
    // block libzmq's I/O thread.
    plug::socket::stop_monitor(&mut sock);
    drop((sock, events));
    drop(ctx);
    seen
}

/// Reads `events`, the monitor of a DEALER connecting to `endpoint`, until
/// its handshake succeeds or `limit` passes.
fn watch_handshake(
    events: &zmq::Socket,
    endpoint: &str,
    limit: Duration,
    exited: &mut dyn FnMut() -> Option<String>,
) -> Result<Handshake, NoPeer> {
    let deadline = Instant::now() + limit;
    let mut last = "no connection was made".to_owned();
    let mut connected: Option<Instant> = None;
    loop {
        // ZMTP 3 completes its handshake in milliseconds once connected.
        if connected.is_some_and(|at| at.elapsed() > Duration::from_secs(1)) {
            return Ok(Handshake::Unconfirmed);
        }
        if let Some(status) = exited() {
            return Err(NoPeer(format!(
                "the server exited before a ZeroMQ handshake: {status}"
            )));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NoPeer(format!(
                "no ZeroMQ handshake with {endpoint} within {} ms: {last}",
                limit.as_millis()
            )));
        }
        let wait = left.min(Duration::from_millis(100)).as_millis() as i64;
        if events.poll(zmq::POLLIN, wait).unwrap_or(0) == 0 {
            continue;
        }
        let Ok(frames) = events.recv_multipart(0) else {
            continue;
        };
        let Some(head) = frames.first().filter(|f| f.len() >= 2) else {
            continue;
        };
        let event = u16::from_ne_bytes([head[0], head[1]]);
        let is = |e: E| event == e.to_raw();
        if is(E::CONNECTED) {
            connected = Some(Instant::now());
        } else if !is(E::HANDSHAKE_SUCCEEDED) {
            connected = None;
        }
        last = if is(E::HANDSHAKE_SUCCEEDED) {
            return Ok(Handshake::Done);
        } else if is(E::CONNECT_RETRIED) {
            "the connection was refused (nothing listening there yet)".to_owned()
        } else if is(E::CONNECTED) {
            "a connection was accepted but no ZeroMQ handshake completed (is it a ZeroMQ \
             server?)"
                .to_owned()
        } else if is(E::HANDSHAKE_FAILED_PROTOCOL) || is(E::HANDSHAKE_FAILED_NO_DETAIL) {
            "the ZeroMQ handshake failed: the peer does not speak ZMTP 3, or a security \
             mechanism differs (CURVE on one side only?)"
                .to_owned()
        } else if is(E::HANDSHAKE_FAILED_AUTH) {
            "the CURVE handshake was refused: check --server-key, and that the client key is on \
             the server's allow-list"
                .to_owned()
        } else if is(E::DISCONNECTED) || is(E::CLOSED) {
            "the connection was closed before a ZeroMQ handshake completed".to_owned()
        } else {
            last
        };
    }
}

/// A native DEALER's handshake, tried again until `limit`. A peer that
/// speaks only an older ZMTP hangs up in the greeting: no peer for this
/// transport.
fn native_handshake(
    endpoint: &str,
    limit: Duration,
    exited: &mut dyn FnMut() -> Option<String>,
) -> Result<Handshake, NoPeer> {
    let dialer = Dialer::new(endpoint, zmq::DEALER, &Options::default()).map_err(NoPeer)?;
    let rt = native::runtime().map_err(|e| NoPeer(format!("no tokio runtime: {e}")))?;
    let deadline = tokio::time::Instant::now() + limit;
    let mut stopped = false;
    let mut stop = || {
        let status = exited()?;
        stopped = true;
        Some(format!(
            "the server exited before a ZeroMQ handshake: {status}"
        ))
    };
    let connected = rt.block_on(dialer.connect(deadline, &mut stop));
    match connected {
        Ok(_) => Ok(Handshake::Done),
        Err(e) if stopped => Err(NoPeer(e.reason)),
        Err(e) if e.permanent => Err(NoPeer(format!(
            "no ZeroMQ handshake with {endpoint}: {}",
            e.reason
        ))),
        Err(e) => Err(NoPeer(format!(
            "no ZeroMQ handshake with {endpoint} within {} ms: {}",
            limit.as_millis(),
            e.reason
        ))),
    }
}

/// `rpc.socket.answers` and `raw.socket.answers`: the first round trip,
/// waiting as long as the context's timeout (the start-up timeout for a
/// spawned server). Records what it learns in `ctx.learned`.
pub(crate) fn answers(ctx: &Ctx, profile: Profile) -> Step<Verdict> {
    match profile {
        Profile::Rpc => rpc_answers(ctx),
        Profile::Raw => raw_answers(ctx),
    }
}

fn learn(ctx: &Ctx, conn: &crate::conn::Conn, service: Duration) {
    let facts = ServerFacts {
        socket: conn
            .peer_type()
            .as_deref()
            .map_or(SocketKind::Unknown, SocketKind::from_metadata),
        service,
        answered: conn.received() > 0,
    };
    *ctx.learned.lock().unwrap_or_else(|p| p.into_inner()) = Some(facts);
}

fn rpc_answers(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let first = Request::call("\"probe-1\"", "ping");
    let t = conn.send(&first)?;
    let got = conn.conn.recv_within(ctx.timeout)?;
    learn(ctx, &conn.conn, ServerFacts::default().service);
    let Some(frames) = got else {
        return Err(silent_rpc(ctx));
    };
    conn.accept(frames)?;
    conn.wait(t)?;
    // Sixteen requests at once (the in-flight floor, §8.2-a): how long the
    // server takes per request when it has work queued.
    let start = Instant::now();
    let tickets: Vec<_> = (2..=17)
        .map(|i| conn.send(&Request::call(&format!("\"probe-{i}\""), "ping")))
        .collect::<Step<_>>()?;
    for t in tickets {
        conn.wait(t)?;
    }
    let service = start.elapsed() / 16;
    learn(ctx, &conn.conn, service);
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// No answer to a bare request: a REP socket answers a delimited one.
fn silent_rpc(ctx: &Ctx) -> Verdict {
    let silent = fail(
        "a reply to a request with an id (§5.3-d)",
        format!(
            "the server completed the ZeroMQ handshake but answered nothing within {} ms",
            ctx.timeout.as_millis()
        ),
    );
    let Ok(d) = RpcConn::dealer(ctx, "D", Style::Delimited) else {
        return silent;
    };
    let wait = ctx.timeout.min(Duration::from_secs(2));
    let rep = d
        .send(&Request::call("\"probe-delimited\"", "ping"))
        .ok()
        .and_then(|_| d.conn.recv_within(wait).ok().flatten())
        .is_some();
    if rep {
        return fail(
            "a reply to a bare request [body] (§3.1, §2.1-b)",
            "nothing, while a delimited request [\"\", body] was answered",
        )
        .hint(hints::REP_SOCKET);
    }
    silent
}

fn raw_answers(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    conn.send(&[b"plug-conformance probe".to_vec()])?;
    let got = conn.expect_next(ctx.timeout);
    learn(ctx, &conn.conn, ServerFacts::default().service);
    if let Err(v) = got {
        if conn.conn.received() == 0 {
            return Err(silent_raw(ctx, v));
        }
        return Err(v);
    }
    let start = Instant::now();
    for i in 0..16u8 {
        conn.send(&[vec![b'p', i]])?;
    }
    conn.expect_all(ctx.timeout)?;
    learn(ctx, &conn.conn, start.elapsed() / 16);
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn silent_raw(ctx: &Ctx, silent: Verdict) -> Verdict {
    let Ok(d) = crate::conn::Conn::open(ctx, zmq::DEALER, "D") else {
        return silent;
    };
    let wait = ctx.timeout.min(Duration::from_secs(2));
    let rep = d
        .send(&[Vec::new(), b"probe".to_vec()])
        .ok()
        .and_then(|_| d.recv_within(wait).ok().flatten())
        .is_some();
    if rep {
        return fail(
            "a bare message [body] echoed (§3.1, §2.1-b)",
            "nothing, while a delimited message [\"\", body] came back",
        )
        .hint(hints::REP_SOCKET);
    }
    silent
}

/// `*.socket.type`: what the `Socket-Type` metadata of the server's
/// messages says (§2.1-b, §2.1-c).
pub(crate) fn socket_type(ctx: &Ctx) -> Step<Verdict> {
    match &ctx.server.socket {
        SocketKind::Router => Ok(Verdict::Pass),
        SocketKind::Dealer => Ok(Verdict::Info {
            detail: "the server uses a DEALER socket (§2.1-c): the harness uses one connection \
                     at a time, and the cases with several peers do not apply"
                .into(),
        }),
        SocketKind::Unknown => Ok(Verdict::Info {
            detail: "the server's messages carry no Socket-Type metadata (an older ZMTP peer, \
                     such as JeroMQ 0.3): its socket type is not known"
                .into(),
        }),
        SocketKind::Other(t) => {
            let v = fail(
                "a ROUTER socket, or a DEALER socket serving one plug (§2.1-b)",
                format!("Socket-Type {t}"),
            );
            Err(if t == "REP" {
                v.hint(hints::REP_SOCKET)
            } else {
                v
            })
        }
    }
}

/// Whether the server still answers a new peer, waiting up to `patience`
/// (it may be working through a backlog the last case left). Any message
/// back counts: a server that answers wrongly is alive.
pub(crate) fn still_answers(ctx: &Ctx, profile: Profile, patience: Duration) -> Result<(), String> {
    let msg: Vec<u8> = match profile {
        Profile::Rpc => br#"{"id":"plug-conformance-liveness","method":"ping"}"#.to_vec(),
        Profile::Raw => b"plug-conformance liveness".to_vec(),
    };
    let outcome = (|| -> Step<()> {
        let conn = crate::conn::Conn::open(ctx, zmq::DEALER, "probe")?;
        conn.send(&[msg])?;
        match conn.recv_within(patience)? {
            Some(_) => Ok(()),
            None => Err(fail(
                "any message back",
                format!("nothing within {} ms", patience.as_millis()),
            )),
        }
    })();
    outcome.map_err(|v| match v {
        Verdict::Fail(f) => f.actual,
        other => format!("{other:?}"),
    })
}
