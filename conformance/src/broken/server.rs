//! The socket loop: one blocking socket (ROUTER with
//! `ZMQ_ROUTER_MANDATORY`, or what the rule asks for), a queue of unsent
//! replies per peer so a slow peer never holds up the others (§2.4, §2.5),
//! timers for `sleep` (§6.3), and pushes for the `push` variant.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::raw::echo;
use super::rpc::{Out, Rpc};
use super::Break;
use crate::case::Profile;

type Message = Vec<Vec<u8>>;

/// The socket type a rule's server binds.
pub fn socket_type(rule: Break) -> zmq::SocketType {
    match rule {
        Break::RepSocket => zmq::REP,
        Break::Dealer => zmq::DEALER,
        _ => zmq::ROUTER,
    }
}

/// Where a reply goes, decided when it is sent.
#[derive(Clone)]
enum To {
    /// This identity (empty for DEALER and REP sockets).
    Peer(Vec<u8>),
    /// The peer of the latest message received (a shared variable).
    LastPeer,
}

struct Timer {
    due: Instant,
    /// The wait it was set for (`sleep-repeats` sets it again once).
    wait: Duration,
    /// A second firing of a `sleep-repeats` timer.
    again: bool,
    to: To,
    delimited: bool,
    body: Message,
    /// Counted in the sender's requests in flight until sent.
    peer: Vec<u8>,
}

struct Server<'a> {
    sock: &'a zmq::Socket,
    kind: zmq::SocketType,
    mode: Profile,
    rule: Break,
    stop: &'a AtomicBool,
    rpc: Rpc,
    queues: HashMap<Vec<u8>, VecDeque<Message>>,
    /// When each peer's queue was first found full, since it last took a
    /// message (`drop-after-1s`).
    full_since: HashMap<Vec<u8>, Instant>,
    timers: Vec<Timer>,
    in_flight: HashMap<Vec<u8>, usize>,
    received: u64,
    replies: u64,
    last_peer: Option<Vec<u8>>,
    prev_peer: Option<Vec<u8>>,
    first_peer: Option<Vec<u8>>,
    /// A REP socket answered the message being handled.
    rep_sent: bool,
    peers: Vec<Vec<u8>>,
    /// Peers whose socket is a DEALER (a plug): the only ones pushed to.
    dealers: std::collections::HashSet<Vec<u8>>,
    held: HashMap<Vec<u8>, (Instant, Message)>,
    next_push: Instant,
    ticks: u64,
}

/// Serves on a bound socket of [`socket_type`] until `stop` is set.
pub fn serve(
    sock: &zmq::Socket,
    mode: Profile,
    rule: Break,
    stop: &AtomicBool,
) -> Result<(), zmq::Error> {
    let kind = socket_type(rule);
    if kind == zmq::ROUTER && rule != Break::NoRouterMandatory {
        sock.set_router_mandatory(true)?;
    }
    let mut s = Server {
        sock,
        kind,
        mode,
        rule,
        stop,
        rpc: Rpc { rule },
        queues: HashMap::new(),
        full_since: HashMap::new(),
        timers: Vec::new(),
        in_flight: HashMap::new(),
        received: 0,
        replies: 0,
        last_peer: None,
        prev_peer: None,
        first_peer: None,
        rep_sent: false,
        peers: Vec::new(),
        dealers: std::collections::HashSet::new(),
        held: HashMap::new(),
        next_push: Instant::now(),
        ticks: 0,
    };
    while !stop.load(Ordering::Relaxed) {
        s.flush()?;
        s.fire_timers();
        s.release_held();
        s.push();
        let wait = s.wait_ms();
        if sock.poll(zmq::POLLIN, wait)? == 0 {
            continue;
        }
        for _ in 0..64 {
            match recv(sock) {
                Ok((m, peer_type)) => {
                    if peer_type.as_deref() == Some("DEALER") && s.kind == zmq::ROUTER {
                        s.dealers.insert(m[0].clone());
                    }
                    s.handle(m)
                }
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => return Err(e),
            }
            if s.kind == zmq::REP {
                break;
            }
        }
    }
    Ok(())
}

impl Server<'_> {
    fn wait_ms(&self) -> i64 {
        if self.queues.values().any(|q| !q.is_empty()) {
            return 2;
        }
        let now = Instant::now();
        let mut next = now + Duration::from_millis(100);
        for t in &self.timers {
            next = next.min(t.due);
        }
        for (due, _) in self.held.values() {
            next = next.min(*due);
        }
        if matches!(self.rule, Break::Push | Break::PushToReq) {
            next = next.min(self.next_push);
        }
        next.saturating_duration_since(now).as_millis() as i64
    }

    fn handle(&mut self, msg: Message) {
        self.received += 1;
        match self.rule {
            Break::HangAfter(n) if self.received > n => self.hang(),
            Break::CrashAfter(n) if self.received > n => std::process::exit(3),
            Break::Slow => std::thread::sleep(Duration::from_millis(5)),
            _ => {}
        }
        let (peer, rest) = match self.kind {
            zmq::ROUTER => {
                let mut it = msg.into_iter();
                let peer = it.next().unwrap_or_default();
                (peer, it.collect::<Message>())
            }
            _ => (Vec::new(), msg),
        };
        self.first_peer.get_or_insert_with(|| peer.clone());
        self.prev_peer = self.last_peer.replace(peer.clone());
        self.rep_sent = false;
        if !self.peers.contains(&peer) {
            self.peers.push(peer.clone());
        }
        let (delimited, body) = split(rest, self.rule);
        match self.mode {
            Profile::Raw => {
                let replies = echo(self.rule, body);
                if self.rule == Break::ReorderMessages {
                    for r in replies {
                        match self.held.remove(&peer) {
                            None => {
                                self.held.insert(
                                    peer.clone(),
                                    (Instant::now() + Duration::from_millis(50), r),
                                );
                            }
                            Some((_, earlier)) => {
                                self.reply(To::Peer(peer.clone()), delimited, r);
                                self.reply(To::Peer(peer.clone()), delimited, earlier);
                            }
                        }
                    }
                    return;
                }
                for r in replies {
                    self.reply(To::Peer(peer.clone()), delimited, r);
                }
            }
            Profile::Rpc => {
                let in_flight = self.in_flight.get(&peer).copied().unwrap_or(0);
                for out in self.rpc.handle(&body, in_flight) {
                    self.out(&peer, delimited, out);
                }
                if self.kind == zmq::REP && !self.rep_sent {
                    // A REP socket must answer before it can read again.
                    self.reply(To::Peer(peer), delimited, vec![b"{}".to_vec()]);
                }
            }
        }
    }

    fn out(&mut self, peer: &[u8], delimited: bool, out: Out) {
        let to = To::Peer(peer.to_vec());
        match out.delay {
            Some(d) if self.kind != zmq::REP => {
                *self.in_flight.entry(peer.to_vec()).or_default() += 1;
                let to = if self.rule == Break::DeferredToLastPeer {
                    To::LastPeer
                } else {
                    to
                };
                let delimited = delimited && self.rule != Break::DeferredDropsDelimiter;
                self.timers.push(Timer {
                    due: Instant::now() + d,
                    wait: d,
                    again: false,
                    to,
                    delimited,
                    body: vec![out.body],
                    peer: peer.to_vec(),
                });
            }
            Some(d) => {
                std::thread::sleep(d);
                self.reply(to, delimited, vec![out.body]);
            }
            None => {
                let twice = out.error && self.rule == Break::SecondReply;
                let mut body = vec![out.body];
                if self.rule == Break::ReplyExtraFrame {
                    body.push(Vec::new());
                }
                if twice {
                    self.reply(To::Peer(peer.to_vec()), delimited, body.clone());
                }
                self.reply(to, delimited, body);
            }
        }
    }

    /// Puts a reply in its peer's queue, with the envelope the rule makes.
    fn reply(&mut self, to: To, delimited: bool, body: Message) {
        self.replies += 1;
        if self.rule == Break::LoseReplies && self.replies.is_multiple_of(997) {
            return;
        }
        let mut peer = match to {
            To::Peer(p) => p,
            To::LastPeer => self.last_peer.clone().unwrap_or_default(),
        };
        match self.rule {
            Break::MixClients => {
                // The reply goes to whoever sent the message before this one.
                if let Some(prev) = &self.prev_peer {
                    peer = prev.clone();
                }
            }
            Break::FirstPeerOnly => peer = self.first_peer.clone().unwrap_or(peer),
            Break::RoutingIdAsText => {
                peer = String::from_utf8_lossy(&peer).into_owned().into_bytes()
            }
            _ => {}
        }
        let delimited = match self.rule {
            Break::DropDelimiter => false,
            Break::AddDelimiter => true,
            _ => delimited,
        };
        let mut frames = Vec::with_capacity(body.len() + 2);
        if self.kind == zmq::ROUTER {
            frames.push(peer.clone());
        }
        if delimited && self.kind != zmq::REP {
            frames.push(Vec::new());
        }
        frames.extend(body);
        if self.kind == zmq::REP || self.rule == Break::BlockingSend {
            self.rep_sent = true;
            let _ = self.sock.send_multipart(frames, 0);
            return;
        }
        self.queues.entry(peer).or_default().push_back(frames);
    }

    fn hang(&self) -> ! {
        // What a test waits for to know that no reply will come any more.
        eprintln!("plug-broken-server: hanging: no more replies");
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if self.stop.load(Ordering::Relaxed) {
                // A hung server never answers again; it only lets its host
                // thread end so in-process tests can finish.
                std::thread::park();
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.timers.drain(..).partition(|t| t.due <= now);
        self.timers = later;
        for t in due {
            if self.rule == Break::SleepRepeats && !t.again {
                // setInterval where setTimeout was meant, cleared after
                // its second reply.
                self.timers.push(Timer {
                    due: now + t.wait,
                    wait: t.wait,
                    again: true,
                    to: t.to.clone(),
                    delimited: t.delimited,
                    body: t.body.clone(),
                    peer: t.peer.clone(),
                });
            } else if let Some(n) = self.in_flight.get_mut(&t.peer) {
                *n = n.saturating_sub(1);
            }
            if self.rule == Break::CrashOnGoneLater && self.kind == zmq::ROUTER {
                // Sent from the timer with no handling of EHOSTUNREACH.
                let mut frames = vec![t.peer.clone()];
                if t.delimited {
                    frames.push(Vec::new());
                }
                frames.extend(t.body.iter().cloned());
                match send_now(self.sock, &frames) {
                    Err(zmq::Error::EHOSTUNREACH) => {
                        eprintln!("zmq.error.ZMQError: Host unreachable (a reply sent later)");
                        std::process::exit(3);
                    }
                    Ok(()) => continue,
                    Err(_) => {}
                }
            }
            self.reply(t.to, t.delimited, t.body);
        }
    }

    fn release_held(&mut self) {
        let now = Instant::now();
        let due: Vec<Vec<u8>> = self
            .held
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(p, _)| p.clone())
            .collect();
        for p in due {
            if let Some((_, m)) = self.held.remove(&p) {
                self.reply(To::Peer(p), false, m);
            }
        }
    }

    fn push(&mut self) {
        let push = matches!(self.rule, Break::Push | Break::PushToReq);
        if !push || Instant::now() < self.next_push {
            return;
        }
        self.next_push = Instant::now() + Duration::from_millis(20);
        self.ticks += 1;
        let body = match self.mode {
            Profile::Rpc => format!(r#"{{"method":"tick","params":{{"n":{}}}}}"#, self.ticks),
            Profile::Raw => format!("tick {}", self.ticks),
        };
        // Only to plugs: a REQ client takes any message for its reply (§7.1).
        let plugs: Vec<Vec<u8>> = self
            .peers
            .iter()
            .filter(|p| self.dealers.contains(*p) || self.rule == Break::PushToReq)
            .cloned()
            .collect();
        for peer in plugs {
            let mut frames = Vec::new();
            if self.kind == zmq::ROUTER {
                frames.push(peer.clone());
            }
            frames.push(body.clone().into_bytes());
            self.queues.entry(peer).or_default().push_back(frames);
        }
    }

    /// Sends what each peer can take now, in order per peer; a gone peer's
    /// replies are dropped with a log line.
    fn flush(&mut self) -> Result<(), zmq::Error> {
        let sock = self.sock;
        let mut gone = Vec::new();
        let drop_after = (self.rule == Break::DropAfter1s).then_some(Duration::from_secs(1));
        let full_since = &mut self.full_since;
        self.queues.retain(|peer, queue| {
            while let Some(m) = queue.front() {
                match send_now(sock, m) {
                    Ok(()) => {
                        queue.pop_front();
                        full_since.remove(peer);
                    }
                    Err(zmq::Error::EHOSTUNREACH) => {
                        println!("peer gone: {} message(s) dropped", queue.len());
                        gone.push(peer.clone());
                        return false;
                    }
                    Err(_) => {
                        let since = *full_since.entry(peer.clone()).or_insert_with(Instant::now);
                        if drop_after.is_some_and(|d| since.elapsed() >= d) {
                            // ZMQ_SNDTIMEO of a second, and the reply dropped.
                            queue.pop_front();
                            continue;
                        }
                        return true;
                    }
                }
            }
            false
        });
        self.peers.retain(|p| !gone.contains(p));
        self.dealers.retain(|p| !gone.contains(p));
        Ok(())
    }
}

/// One message, with the `Socket-Type` of the peer that sent it.
fn recv(sock: &zmq::Socket) -> Result<(Message, Option<String>), zmq::Error> {
    let mut first = zmq::Message::new();
    sock.recv(&mut first, zmq::DONTWAIT)?;
    let peer_type = first.gets("Socket-Type").map(str::to_owned);
    let mut more = first.get_more();
    let mut frames = vec![first.to_vec()];
    while more {
        let mut part = zmq::Message::new();
        sock.recv(&mut part, 0)?;
        more = part.get_more();
        frames.push(part.to_vec());
    }
    Ok((frames, peer_type))
}

/// Splits the frames after the identity into envelope and body (§3.4).
fn split(mut rest: Message, rule: Break) -> (bool, Message) {
    if rule == Break::StripLeadingEmpty {
        let n = rest.iter().take_while(|f| f.is_empty()).count();
        if n > 0 && n < rest.len() {
            return (true, rest.split_off(n));
        }
    }
    if rest.len() >= 2 && rest[0].is_empty() {
        return (true, rest.split_off(1));
    }
    (false, rest)
}

fn send_now(sock: &zmq::Socket, m: &Message) -> Result<(), zmq::Error> {
    let last = m.len() - 1;
    for (i, f) in m.iter().enumerate() {
        let more = if i < last { zmq::SNDMORE } else { 0 };
        sock.send(&f[..], more | zmq::DONTWAIT)?;
    }
    Ok(())
}
