//! One benchmark connection: a blocking libzmq DEALER owned by one OS
//! thread, which keeps its share of the load going and judges every reply.
//!
//! The thread never spins. It receives everything that is ready, expires
//! the requests past their deadline, sends what the load allows, and then
//! sleeps in `ppoll(2)` until the next thing that can happen: a message
//! (the socket's `ZMQ_FD`), a connection coming or going (the socket
//! monitor's), a stop ([`Control`]'s eventfd), or a time (the next request
//! due in an open loop, the oldest request's deadline, the end of sending,
//! the next second of the series). `ZMQ_FD` is edge-triggered: it is slept
//! on only after `ZMQ_EVENTS` has said there is nothing to receive, since
//! a send may have consumed the edge that announced a message.
//!
//! A reply that names its request cheaply (the sequence number of a raw
//! echo, the leading id of an rpc reply) ends that request at once, so the
//! next request can go out; its full check (every byte of a large echo) is
//! made right after the sends, while the server works on them.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::control::{Control, State};
use super::cpu;
use super::inflight::InFlight;
use super::tally::{Bucket, Counts, Live};
use super::wire::Wire;

/// Messages received before the thread gives its sends a turn, and sent
/// before it reads again.
const BATCH: usize = 1024;

/// Distinct error messages kept per connection.
pub(crate) const MAX_SAMPLES: usize = 5;

/// Replies held for their full check, at most: this many, or this many
/// bytes. Only replies of `DEFER_FROM` bytes or more are held: a small
/// one is checked at once, in the message the socket receives into.
const DEFERRED: usize = 64;
const DEFERRED_BYTES: usize = 64 << 20;
const DEFER_FROM: usize = 64 << 10;

/// What a connection is to do in one phase.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    /// When the phase started: every time is counted from here.
    pub start: Instant,
    pub load: JobLoad,
    /// `--duration-ms`: a closed loop sends nothing at or after this many
    /// nanoseconds; an open loop sends every request due before it (late,
    /// if it fell behind: the latency counts from when each was due).
    pub send_until_ns: Option<u64>,
    /// A request with no reply this long after its origin times out.
    pub timeout_ns: u64,
    /// Hand over a [`Bucket`] per second (not during warm-up).
    pub record: bool,
}

/// This connection's share of the load.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JobLoad {
    /// `window` requests in flight, at most `budget` requests in all.
    Closed { window: usize, budget: Option<u64> },
    /// Request `k` is due `first_ns + k * interval_ns` after the start; at
    /// most `count` requests.
    Open {
        first_ns: f64,
        interval_ns: f64,
        count: Option<u64>,
    },
}

/// How a connection's phase went.
#[derive(Debug, Default)]
pub(crate) struct ConnResult {
    pub counts: Counts,
    pub samples: Vec<String>,
    /// The thread's own CPU time.
    pub cpu: Duration,
    /// When its last request was sent, in nanoseconds since the start.
    pub last_send_ns: u64,
}

/// What a connection thread tells the coordinator.
pub(crate) enum Event {
    /// A second of one connection's series.
    Bucket(Bucket),
    /// The connection's phase is over.
    Ended(usize, ConnResult),
    /// SIGINT or SIGTERM arrived (the count is in [`super::control::Interrupts`]).
    Signal,
}

/// A connected DEALER and its monitor.
pub(crate) struct Conn {
    pub index: usize,
    /// Its monitor is stopped on drop, before `monitor` closes.
    sock: zmq::Socket,
    monitor: zmq::Socket,
    wire: Arc<Wire>,
    /// Sequence numbers go on across phases, so a late reply from warm-up
    /// is never taken for a measured one.
    next_seq: u64,
    connected: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        plug::socket::stop_monitor(&mut self.sock);
    }
}

impl Conn {
    /// A DEALER connected to `endpoint`, with a monitor to tell whether the
    /// connection is up.
    pub fn open(
        ctx: &zmq::Context,
        index: usize,
        endpoint: &str,
        wire: Arc<Wire>,
    ) -> Result<Conn, zmq::Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let sock = ctx.socket(zmq::DEALER)?;
        sock.set_linger(0)?;
        // Unlimited queues: the window (closed loop) or the rate and the
        // timeout (open loop, checked against memory) bound what is queued.
        sock.set_sndhwm(0)?;
        sock.set_rcvhwm(0)?;
        let inproc = format!(
            "inproc://bench-monitor-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        sock.monitor(
            &inproc,
            zmq::SocketEvent::CONNECTED as i32 | zmq::SocketEvent::DISCONNECTED as i32,
        )?;
        let monitor = ctx.socket(zmq::PAIR)?;
        monitor.set_linger(0)?;
        monitor.set_rcvhwm(0)?;
        monitor.connect(&inproc)?;
        sock.connect(endpoint)?;
        Ok(Conn {
            index,
            sock,
            monitor,
            wire,
            next_seq: 1,
            connected: false,
        })
    }

    /// Runs `job` until its load is done and every request has ended, or
    /// until `control` says otherwise.
    pub fn run(
        &mut self,
        job: &Job,
        live: &Live,
        control: &Control,
        events: &Sender<Event>,
    ) -> ConnResult {
        set_timer_slack();
        let cpu_before = cpu::this_thread();
        let wire = self.wire.clone();
        let mut run = Running {
            job,
            live,
            wire: &wire,
            deferred: Vec::new(),
            deferred_bytes: 0,
            inflight: InFlight::new(self.next_seq),
            counts: Counts::default(),
            samples: Vec::new(),
            streak: 0,
            bucket: Bucket::new(self.index, 0),
            events,
            next_due: 0,
            last_send_ns: 0,
        };
        let fds = Fds {
            sock: self.sock.get_fd().unwrap_or(-1),
            monitor: self.monitor.get_fd().unwrap_or(-1),
            wake: control.wake_fd(self.index),
        };
        self.read_monitor(live);
        let mut msg = zmq::Message::new();
        let mut blocked = false;
        loop {
            let state = control.state();
            if state == State::Abandon {
                run.abandon("the run was stopped");
                break;
            }
            let now = run.now();
            run.roll(now);
            // Receive everything that is ready (up to a batch).
            let mut fatal = None;
            for _ in 0..BATCH {
                if run.deferred_full() {
                    break;
                }
                match self.sock.recv(&mut msg, zmq::DONTWAIT) {
                    Ok(()) => {
                        let frames = if msg.get_more() {
                            1 + self.rest_of_message()
                        } else {
                            1
                        };
                        run.on_reply(&mut msg, frames);
                    }
                    Err(zmq::Error::EAGAIN) => break,
                    Err(zmq::Error::EINTR) => continue,
                    Err(e) => {
                        fatal = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = fatal {
                run.abandon(&format!("libzmq error on receive: {e}"));
                break;
            }
            let now = run.now();
            run.expire(now);
            // Send what the load allows.
            let sending = state == State::Run
                && match job.load {
                    JobLoad::Closed { .. } => job.send_until_ns.is_none_or(|end| now < end),
                    JobLoad::Open { .. } => true,
                };
            let mut sent_any = false;
            if sending && !blocked {
                match run.send_due(&self.sock, now) {
                    Ok(n) => sent_any = n > 0,
                    Err(zmq::Error::EAGAIN) => blocked = true,
                    Err(e) => {
                        run.abandon(&format!("libzmq error on send: {e}"));
                        break;
                    }
                }
            }
            run.check_deferred();
            run.publish();
            let more_to_send = sending && run.more_to_send();
            if !more_to_send && run.inflight.len() == 0 {
                break;
            }
            // Nothing to do until something happens: sleep, unless a message
            // is already waiting (a send may have eaten the edge of ZMQ_FD).
            match self.sock.get_events() {
                Ok(ev) if ev.contains(zmq::POLLIN) => continue,
                Ok(ev) if blocked && ev.contains(zmq::POLLOUT) => {
                    blocked = false;
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    run.abandon(&format!("libzmq error: {e}"));
                    break;
                }
            }
            if sent_any && !blocked && more_to_send && run.due_now(run.now()) {
                continue;
            }
            let wake_at = run.wake_at(more_to_send && !blocked);
            let ready = fds.wait(wake_at.map(|at| at.saturating_sub(run.now())));
            if ready.monitor {
                self.read_monitor(live);
            }
            if ready.wake {
                control.clear(self.index);
            }
        }
        self.next_seq = run.inflight.next_seq();
        run.finish(cpu::this_thread().saturating_sub(cpu_before))
    }

    /// Receives the remaining frames of a multipart message; returns how
    /// many.
    fn rest_of_message(&self) -> usize {
        let mut n = 0;
        let mut part = zmq::Message::new();
        while self.sock.recv(&mut part, zmq::DONTWAIT).is_ok() {
            n += 1;
            if !part.get_more() {
                break;
            }
        }
        n
    }

    /// Reads every monitor event waiting; keeps `connected` up to date.
    fn read_monitor(&mut self, live: &Live) {
        while let Ok(frames) = self.monitor.recv_multipart(zmq::DONTWAIT) {
            let Some(event) = frames.first().filter(|f| f.len() >= 2) else {
                continue;
            };
            let id = u16::from_le_bytes([event[0], event[1]]);
            if id == zmq::SocketEvent::CONNECTED as u16 {
                self.connected = true;
            } else if id == zmq::SocketEvent::DISCONNECTED as u16 {
                self.connected = false;
            }
        }
        live.connected.store(self.connected, Ordering::Relaxed);
    }
}

/// A reply whose request has ended, before its full check.
struct Deferred {
    msg: zmq::Message,
    frames: usize,
    seq: u64,
    /// The request's latency origin and when the reply came.
    origin: u64,
    at: u64,
}

/// The state of one connection's phase.
struct Running<'a> {
    job: &'a Job,
    live: &'a Live,
    wire: &'a Wire,
    deferred: Vec<Deferred>,
    deferred_bytes: usize,
    inflight: InFlight,
    counts: Counts,
    samples: Vec<String>,
    /// Timeouts since anything last arrived.
    streak: u64,
    bucket: Bucket,
    events: &'a Sender<Event>,
    /// Open loop: the index of the next request due.
    next_due: u64,
    last_send_ns: u64,
}

impl Running<'_> {
    fn now(&self) -> u64 {
        self.job.start.elapsed().as_nanos() as u64
    }

    /// Hands over the current second when a new one has begun.
    fn roll(&mut self, now: u64) {
        let second = now / 1_000_000_000;
        if second != self.bucket.second {
            let conn = self.bucket.conn;
            let done = std::mem::replace(&mut self.bucket, Bucket::new(conn, second));
            if self.job.record {
                let _ = self.events.send(Event::Bucket(done));
            }
        }
    }

    fn sample(&mut self, why: &str) {
        if self.samples.len() < MAX_SAMPLES && !self.samples.iter().any(|s| s == why) {
            self.samples.push(why.to_owned());
        }
    }

    fn deferred_full(&self) -> bool {
        self.deferred.len() >= DEFERRED || self.deferred_bytes >= DEFERRED_BYTES
    }

    fn on_reply(&mut self, msg: &mut zmq::Message, frames: usize) {
        let now = self.now();
        self.live.heard.store(now + 1, Ordering::Relaxed);
        self.streak = 0;
        if let Some(seq) = self.wire.seq_hint(msg) {
            if let Some(origin) = self.inflight.end(seq) {
                let reply = Deferred {
                    msg: std::mem::replace(msg, zmq::Message::new()),
                    frames,
                    seq,
                    origin,
                    at: now,
                };
                if reply.msg.len() >= DEFER_FROM {
                    self.deferred_bytes += reply.msg.len();
                    self.deferred.push(reply);
                } else {
                    self.check(&reply);
                    // The socket receives into it again.
                    *msg = reply.msg;
                }
                return;
            }
        }
        let judged = self.wire.judge(msg, frames);
        let origin = judged.seq.and_then(|seq| self.inflight.end(seq));
        match (origin, judged.verdict) {
            (Some(origin), Ok(())) => {
                self.counts.ok += 1;
                self.bucket.counts.ok += 1;
                self.bucket.record(now.saturating_sub(origin) / 1000);
            }
            (Some(_), Err(why)) => {
                self.counts.errors += 1;
                self.bucket.counts.errors += 1;
                self.sample(&why);
            }
            (None, verdict) => match judged.seq {
                Some(seq) if self.inflight.was_sent(seq) => self.counts.late += 1,
                _ => {
                    self.counts.unmatched += 1;
                    let why = match verdict {
                        Err(why) => format!("a reply that matches no request: {why}"),
                        Ok(()) => "a reply with an id this connection never sent".to_owned(),
                    };
                    self.sample(&why);
                }
            },
        }
    }

    /// The full check of the replies whose requests have ended.
    fn check_deferred(&mut self) {
        for reply in std::mem::take(&mut self.deferred) {
            self.check(&reply);
        }
        self.deferred_bytes = 0;
    }

    /// The full check of a reply whose request has ended.
    fn check(&mut self, reply: &Deferred) {
        let judged = self.wire.judge(&reply.msg, reply.frames);
        match judged.verdict {
            Ok(()) if judged.seq == Some(reply.seq) => {
                self.counts.ok += 1;
                self.bucket.counts.ok += 1;
                self.bucket
                    .record(reply.at.saturating_sub(reply.origin) / 1000);
            }
            Ok(()) => {
                self.counts.errors += 1;
                self.bucket.counts.errors += 1;
                self.sample("a reply whose id is not the one it starts with");
            }
            Err(why) => {
                self.counts.errors += 1;
                self.bucket.counts.errors += 1;
                self.sample(&why);
            }
        }
    }

    /// Ends the requests whose deadline has passed.
    fn expire(&mut self, now: u64) {
        let Some(cutoff) = now.checked_sub(self.job.timeout_ns) else {
            return;
        };
        let n = self.inflight.expire(cutoff);
        self.counts.timeouts += n;
        self.bucket.counts.timeouts += n;
        self.streak += n;
    }

    fn due_ns(&self, k: u64) -> u64 {
        match self.job.load {
            JobLoad::Open {
                first_ns,
                interval_ns,
                ..
            } => (first_ns + interval_ns * k as f64) as u64,
            JobLoad::Closed { .. } => 0,
        }
    }

    fn more_to_send(&self) -> bool {
        match self.job.load {
            JobLoad::Closed { budget, .. } => budget.is_none_or(|b| self.counts.sent < b),
            JobLoad::Open { count, .. } => {
                count.is_none_or(|c| self.next_due < c)
                    && self
                        .job
                        .send_until_ns
                        .is_none_or(|end| self.due_ns(self.next_due) < end)
            }
        }
    }

    /// Whether a request could go out at `now`.
    fn due_now(&self, now: u64) -> bool {
        match self.job.load {
            JobLoad::Closed { window, .. } => self.inflight.len() < window,
            JobLoad::Open { .. } => self.due_ns(self.next_due) <= now,
        }
    }

    /// Sends the requests the load allows at `now`, at most a batch, so
    /// that replies are read between batches however far behind an open
    /// loop is; returns how many.
    fn send_due(&mut self, sock: &zmq::Socket, now: u64) -> Result<u64, zmq::Error> {
        let mut n = 0;
        while n < BATCH as u64 && self.more_to_send() && self.due_now(now) {
            let origin = match self.job.load {
                JobLoad::Closed { .. } => self.now(),
                JobLoad::Open { .. } => self.due_ns(self.next_due),
            };
            let seq = self.inflight.next_seq();
            loop {
                match sock.send(self.wire.request(seq), zmq::DONTWAIT) {
                    Ok(()) => break,
                    Err(zmq::Error::EINTR) => continue,
                    Err(e) => return Err(e),
                }
            }
            self.inflight.push(origin);
            self.next_due += 1;
            self.counts.sent += 1;
            self.bucket.counts.sent += 1;
            n += 1;
        }
        if n > 0 {
            self.last_send_ns = self.now();
        }
        Ok(n)
    }

    fn publish(&self) {
        self.live.publish(&self.counts, self.streak);
    }

    /// When the thread must be awake again (`None`: only for an event).
    fn wake_at(&self, may_send: bool) -> Option<u64> {
        let mut at: Option<u64> = None;
        let mut earliest = |t: u64| at = Some(at.map_or(t, |a| a.min(t)));
        if may_send {
            if let JobLoad::Open { .. } = self.job.load {
                earliest(self.due_ns(self.next_due));
            }
            if let (JobLoad::Closed { .. }, Some(end)) = (self.job.load, self.job.send_until_ns) {
                earliest(end);
            }
        }
        if let Some(oldest) = self.inflight.oldest() {
            earliest(oldest + self.job.timeout_ns);
        }
        if self.job.record {
            earliest((self.bucket.second + 1) * 1_000_000_000);
        }
        at
    }

    /// Ends every request in flight as an error.
    fn abandon(&mut self, why: &str) {
        self.check_deferred();
        let n = self.inflight.abandon();
        if n > 0 {
            self.counts.errors += n;
            self.counts.abandoned += n;
            self.bucket.counts.errors += n;
            self.sample(&format!("{why} with requests in flight"));
        }
        self.publish();
    }

    fn finish(mut self, cpu: Duration) -> ConnResult {
        self.check_deferred();
        self.publish();
        let last = std::mem::replace(&mut self.bucket, Bucket::new(0, 0));
        if self.job.record {
            let _ = self.events.send(Event::Bucket(last));
        }
        ConnResult {
            counts: self.counts,
            samples: self.samples,
            cpu,
            last_send_ns: self.last_send_ns,
        }
    }
}

/// The descriptors a connection thread sleeps on.
struct Fds {
    sock: RawFd,
    monitor: RawFd,
    wake: RawFd,
}

struct Ready {
    monitor: bool,
    wake: bool,
}

impl Fds {
    /// Sleeps until one of the descriptors is readable or `timeout_ns` has
    /// passed (`None`: no time limit).
    fn wait(&self, timeout_ns: Option<u64>) -> Ready {
        let mut fds = [self.sock, self.monitor, self.wake].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        let ts = timeout_ns.map(|ns| libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: three valid pollfds and a timespec that outlive the call;
        // no signal mask is changed.
        let n = unsafe { libc::ppoll(fds.as_mut_ptr(), 3, ts_ptr, std::ptr::null()) };
        Ready {
            monitor: n > 0 && fds[1].revents != 0,
            wake: n > 0 && fds[2].revents != 0,
        }
    }
}

/// Wake-ups within a microsecond of the time asked for: an open loop's
/// requests go out when they are due, not up to 50 µs later.
fn set_timer_slack() {
    // SAFETY: prctl(PR_SET_TIMERSLACK) takes a plain integer.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong) };
}
