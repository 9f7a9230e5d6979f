//! One phase of a run (the warm-up, or one measured run): a thread per
//! connection, and this thread coordinating them. It merges their seconds,
//! draws the progress, and decides when the run stops early:
//!
//! - **server gone**: nothing has arrived on any connection for longer than
//!   the timeout, and either no connection is up (libzmq's monitor) or
//!   `--gone-after` requests have timed out in a row; or a spawned server
//!   has exited. Every request still in flight ends as an error.
//! - **interrupted**: the first SIGINT or SIGTERM stops sending and lets
//!   the requests in flight end; a second one ends them at once.
//!
//! The coordinator sleeps on its channel between ticks of 100 ms.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::conn::{Conn, ConnResult, Event, Job, JobLoad, MAX_SAMPLES};
use super::control::{Control, Interrupts, State};
use super::cpu;
use super::options::{Load, Stop};
use super::progress::Progress;
use super::series::{Second, Series};
use super::tally::{Counts, Live};

const TICK: Duration = Duration::from_millis(100);

/// What one phase is to do.
#[derive(Clone, Debug)]
pub(crate) struct PhaseSpec {
    pub load: Load,
    pub stop: Stop,
    pub timeout: Duration,
    pub gone_after: u64,
    /// Keep the series and the histogram (not for warm-up).
    pub record: bool,
    /// 1, 2, … for measured runs (the series' `run` field).
    pub run: usize,
}

/// Why a phase ended.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ending {
    /// The load was done and every request ended.
    Completed,
    /// The server stopped answering; `why` says how that was told.
    Gone { at: Duration, why: String },
    /// SIGINT or SIGTERM; `forced` when a second one ended the requests
    /// in flight.
    Interrupted {
        at: Duration,
        signal: i32,
        forced: bool,
    },
}

/// What a phase measured.
pub(crate) struct PhaseResult {
    pub counts: Counts,
    pub samples: Vec<String>,
    /// From the start to the end of the last request.
    pub duration: Duration,
    pub ending: Ending,
    pub series: Vec<Second>,
    pub latency: Histogram<u64>,
    /// The whole process's CPU over the phase.
    pub cpu: Duration,
    /// The busiest client thread and its share of a core.
    pub busiest: Option<(String, f64)>,
    /// From the start to the last request sent.
    pub send_span: Duration,
}

/// Where the coordinator hears from the threads, the signals and a
/// spawned server.
pub(crate) struct Coordination<'a> {
    pub events: (Sender<Event>, &'a Receiver<Event>),
    pub interrupts: &'a Interrupts,
    /// How a spawned server has exited, if it has.
    pub exited: &'a mut dyn FnMut() -> Option<String>,
    pub progress: &'a mut Progress,
}

/// Each connection's job for `spec`.
fn jobs(spec: &PhaseSpec, connections: usize, start: Instant) -> Vec<Job> {
    let c = connections as u64;
    let share = |i: u64, n: u64| n / c + u64::from(i < n % c);
    (0..c)
        .map(|i| Job {
            start,
            load: match spec.load {
                Load::Closed { window } => JobLoad::Closed {
                    window,
                    budget: match spec.stop {
                        Stop::Requests(n) => Some(share(i, n)),
                        Stop::Duration(_) => None,
                    },
                },
                // Request g (0, 1, 2, …) is due at g / rate and goes to
                // connection g mod c.
                Load::Open { rate } => JobLoad::Open {
                    first_ns: i as f64 * 1e9 / rate,
                    interval_ns: c as f64 * 1e9 / rate,
                    count: match spec.stop {
                        Stop::Requests(n) => Some(share(i, n)),
                        Stop::Duration(_) => None,
                    },
                },
            },
            send_until_ns: match spec.stop {
                Stop::Duration(d) => Some(d.as_nanos() as u64),
                Stop::Requests(_) => None,
            },
            timeout_ns: spec.timeout.as_nanos() as u64,
            record: spec.record,
        })
        .collect()
}

/// Runs `spec` on `conns` until it is done or stopped.
pub(crate) fn run(
    conns: &mut [Conn],
    spec: &PhaseSpec,
    co: &mut Coordination,
) -> std::io::Result<PhaseResult> {
    let n = conns.len();
    let control = Control::new(n)?;
    let lives: Vec<Live> = (0..n).map(|_| Live::default()).collect();
    let threads_before = cpu::Threads::now();
    let cpu_before = cpu::process();
    let start = Instant::now();
    let jobs = jobs(spec, n, start);
    let mut series = Series::new(n);
    let mut results: Vec<Option<ConnResult>> = (0..n).map(|_| None).collect();
    let mut ending = Ending::Completed;
    let mut signals_seen = co.interrupts.count();
    let mut duration = Duration::ZERO;
    std::thread::scope(|scope| -> std::io::Result<()> {
        for (conn, job) in conns.iter_mut().zip(jobs) {
            let live = &lives[conn.index];
            let control = &control;
            let tx = co.events.0.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("bench-conn-{}", conn.index))
                .spawn_scoped(scope, move || {
                    let index = conn.index;
                    // A bug in a thread must not leave the coordinator
                    // waiting for it: it ends, and says why.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        conn.run(&job, live, control, &tx)
                    }))
                    .unwrap_or_else(|panic| ConnResult {
                        samples: vec![format!(
                            "connection {index} failed: {}",
                            panic
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_default()
                        )],
                        counts: live.counts(),
                        ..ConnResult::default()
                    });
                    let _ = tx.send(Event::Ended(index, result));
                });
            if let Err(e) = spawned {
                // The threads already started end at once.
                control.set(State::Abandon);
                return Err(e);
            }
        }
        let mut ended = 0;
        while ended < n {
            match co.events.1.recv_timeout(TICK) {
                Ok(Event::Bucket(b)) => series.add(b),
                Ok(Event::Ended(i, r)) => {
                    results[i] = Some(r);
                    ended += 1;
                    if ended == n {
                        duration = start.elapsed();
                    }
                }
                Ok(Event::Signal) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = start.elapsed();
            let signals = co.interrupts.count();
            if signals > signals_seen {
                signals_seen = signals;
                if control.state() == State::Run {
                    ending = Ending::Interrupted {
                        at: now,
                        signal: co.interrupts.last().unwrap_or(libc::SIGINT),
                        forced: false,
                    };
                    control.set(State::Drain);
                    let in_flight = in_flight(&lives);
                    if in_flight > 0 {
                        co.progress.note(&format!(
                            "interrupted: letting {in_flight} requests in flight end (at most {}); interrupt again to stop now",
                            super::text::duration(spec.timeout)
                        ));
                    }
                } else {
                    if let Ending::Interrupted { forced, .. } = &mut ending {
                        *forced = true;
                    }
                    control.set(State::Abandon);
                }
            }
            if control.state() != State::Abandon {
                if let Some(why) = gone(&lives, now, spec, co.exited) {
                    if !matches!(ending, Ending::Interrupted { .. }) {
                        ending = Ending::Gone { at: now, why };
                    }
                    control.set(State::Abandon);
                }
            }
            let counts = lives.iter().fold(Counts::default(), |mut acc, l| {
                acc.add(&l.counts());
                acc
            });
            co.progress.tick(now, &counts, series.total());
        }
        Ok(())
    })?;
    let cpu_used = cpu::process().saturating_sub(cpu_before);
    let mut counts = Counts::default();
    let mut samples = Vec::new();
    let mut thread_cpu = cpu::Threads::now().since(&threads_before);
    let mut last_send_ns = 0;
    for (i, r) in results.into_iter().enumerate() {
        let r = r.unwrap_or_default();
        counts.add(&r.counts);
        for s in r.samples {
            if samples.len() < MAX_SAMPLES && !samples.contains(&s) {
                samples.push(s);
            }
        }
        thread_cpu.push((format!("bench-conn-{i}"), r.cpu));
        last_send_ns = last_send_ns.max(r.last_send_ns);
    }
    let (series, latency) = series.finish(spec.run, duration.as_secs_f64());
    Ok(PhaseResult {
        counts,
        samples,
        duration,
        ending,
        series,
        latency,
        cpu: cpu_used,
        busiest: cpu::busiest(&thread_cpu, duration),
        send_span: Duration::from_nanos(last_send_ns),
    })
}

fn in_flight(lives: &[Live]) -> u64 {
    lives
        .iter()
        .map(|l| {
            let c = l.counts();
            c.sent.saturating_sub(c.ended())
        })
        .sum()
}

/// Why the server is gone, if it is.
fn gone(
    lives: &[Live],
    now: Duration,
    spec: &PhaseSpec,
    exited: &mut dyn FnMut() -> Option<String>,
) -> Option<String> {
    if let Some(status) = exited() {
        return Some(format!("the server exited ({status})"));
    }
    let now_ns = now.as_nanos() as u64;
    let heard = lives.iter().filter_map(Live::heard_ns).max().unwrap_or(0);
    let silent = Duration::from_nanos(now_ns.saturating_sub(heard));
    if silent <= spec.timeout {
        return None;
    }
    let connected = lives
        .iter()
        .any(|l| l.connected.load(std::sync::atomic::Ordering::Relaxed));
    let streak: u64 = lives
        .iter()
        .map(|l| l.streak.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    let silent = super::text::duration(silent);
    if !connected {
        Some(format!("no reply and no connection for {silent}"))
    } else if streak >= spec.gone_after {
        Some(format!(
            "{streak} timeouts in a row and no reply for {silent}"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(load: Load, stop: Stop) -> PhaseSpec {
        PhaseSpec {
            load,
            stop,
            timeout: Duration::from_secs(1),
            gone_after: 10,
            record: true,
            run: 1,
        }
    }

    #[test]
    fn requests_are_shared_out_exactly() {
        let start = Instant::now();
        let jobs = jobs(
            &spec(Load::Closed { window: 4 }, Stop::Requests(10)),
            3,
            start,
        );
        let budgets: Vec<_> = jobs
            .iter()
            .map(|j| match j.load {
                JobLoad::Closed { budget, .. } => budget.unwrap(),
                JobLoad::Open { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(budgets, [4, 3, 3]);
        let jobs = jobs_open();
        // Request g is due at g / rate: connection 1 of 2 at 1000/s sends
        // requests 1, 3, 5, … at 1, 3, 5 ms.
        let JobLoad::Open {
            first_ns,
            interval_ns,
            count,
        } = jobs[1].load
        else {
            unreachable!()
        };
        assert_eq!((first_ns, interval_ns, count), (1e6, 2e6, Some(2)));
    }

    fn jobs_open() -> Vec<Job> {
        jobs(
            &spec(Load::Open { rate: 1000.0 }, Stop::Requests(5)),
            2,
            Instant::now(),
        )
    }

    #[test]
    fn gone_needs_silence_and_no_connection_or_a_streak() {
        let lives: Vec<Live> = (0..2).map(|_| Live::default()).collect();
        let s = spec(Load::Closed { window: 1 }, Stop::Requests(10));
        let mut alive = || None;
        let secs = Duration::from_secs;
        lives[0].heard.store(
            secs(1).as_nanos() as u64 + 1,
            std::sync::atomic::Ordering::Relaxed,
        );
        lives[0]
            .connected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            gone(&lives, secs(2), &s, &mut alive),
            None,
            "silent 1 s: not yet"
        );
        assert_eq!(
            gone(&lives, secs(3), &s, &mut alive),
            None,
            "silent 2 s, connected, no streak"
        );
        lives[1]
            .streak
            .store(10, std::sync::atomic::Ordering::Relaxed);
        assert!(gone(&lives, secs(3), &s, &mut alive)
            .unwrap()
            .starts_with("10 timeouts in a row"));
        lives[1]
            .streak
            .store(0, std::sync::atomic::Ordering::Relaxed);
        lives[0]
            .connected
            .store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            gone(&lives, secs(3), &s, &mut alive).unwrap(),
            "no reply and no connection for 2.00 s"
        );
        let mut exited = || Some("exit status 3".to_owned());
        assert_eq!(
            gone(&lives, secs(1), &s, &mut exited).unwrap(),
            "the server exited (exit status 3)"
        );
    }
}
