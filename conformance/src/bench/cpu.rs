//! The client's own CPU: the whole process (`getrusage`), each connection
//! thread (its thread clock, read by itself), and the threads that outlive
//! a phase, libzmq's I/O thread among them (`/proc/self/task`, in clock
//! ticks). A thread near 100% of a core means the figures measure the
//! client, not the server.

use std::collections::HashMap;
use std::time::Duration;

/// User plus system time of this process so far.
pub(crate) fn process() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time of the calling thread so far.
pub(crate) fn this_thread() -> Duration {
    // SAFETY: clock_gettime fills the zeroed timespec it is given.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts
    };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time of every thread of this process, by thread id: (name, time).
#[derive(Clone, Debug, Default)]
pub(crate) struct Threads(HashMap<u32, (String, Duration)>);

impl Threads {
    /// Reads `/proc/self/task`; empty where there is no `/proc`. The main
    /// thread is called `main`; a thread that kept the process's name is
    /// one libzmq started (its I/O thread or its reaper: this build of
    /// libzmq does not name them), called `libzmq`.
    pub fn now() -> Threads {
        let tick = clock_tick();
        let pid = std::process::id();
        let process = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
        let mut map = HashMap::new();
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return Threads(map);
        };
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "tid (comm) state ..." where comm may hold spaces and parens.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let name = match &stat[open + 1..close] {
                _ if tid == pid => "main".to_owned(),
                n if n == process.trim_end() => "libzmq".to_owned(),
                n => n.to_owned(),
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat(5); here 11 and 12.
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
            if let (Some(u), Some(s)) = (ticks(11), ticks(12)) {
                map.insert(tid, (name, tick * (u + s) as u32));
            }
        }
        Threads(map)
    }

    /// Each thread alive at both readings, with the CPU it used between them.
    pub fn since(&self, before: &Threads) -> Vec<(String, Duration)> {
        self.0
            .iter()
            .filter_map(|(tid, (name, after))| {
                let (_, b) = before.0.get(tid)?;
                Some((name.clone(), after.saturating_sub(*b)))
            })
            .collect()
    }
}

fn clock_tick() -> Duration {
    // SAFETY: sysconf has no memory arguments.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Duration::from_secs(1) / u32::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100)
}

/// The busiest of `threads` over `wall`: its name and its share of one
/// core (0.0 to 1.0).
pub(crate) fn busiest(threads: &[(String, Duration)], wall: Duration) -> Option<(String, f64)> {
    let wall = wall.as_secs_f64();
    if wall <= 0.0 {
        return None;
    }
    threads
        .iter()
        .map(|(name, t)| (name.clone(), t.as_secs_f64() / wall))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_is_seen_busy() {
        let before = Threads::now();
        let t0 = this_thread();
        let wall = std::time::Instant::now();
        let worker = std::thread::Builder::new()
            .name("cpu-test-busy".into())
            .spawn(move || {
                // Busy until its own clock says 50 ms, however loaded the
                // machine is.
                let start = this_thread();
                let mut x = 0u64;
                while this_thread() - start < Duration::from_millis(50) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                }
                this_thread() - start
            })
            .unwrap();
        let own = worker.join().unwrap();
        // The main thread waited in join: it used next to nothing.
        assert!(this_thread() - t0 < Duration::from_millis(40));
        let b = busiest(
            &[("a".into(), own), ("b".into(), Duration::ZERO)],
            wall.elapsed(),
        );
        let (name, share) = b.unwrap();
        assert_eq!(name, "a");
        assert!(share > 0.0 && share <= 1.0, "{share}");
        assert!(process() >= own);
        assert!(!Threads::now().since(&before).is_empty());
    }
}
