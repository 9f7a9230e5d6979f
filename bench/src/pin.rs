//! Pinning: the servers on one CPU, this process (the clients) on another.
//!
//! Unpinned, the scheduler places the two processes' threads (application
//! threads, libzmq I/O threads, runtime workers) differently from run to
//! run, and the same cell moved by 30% or more between runs on the 2-core
//! machine. One CPU each makes runs repeatable and gives every row the same
//! deal: its server owns one core, its client the other.

use std::process::Command;

/// Where the servers and the client run.
#[derive(Clone, Copy, Debug)]
pub struct Pinning {
    pub server_cpu: usize,
    pub client_cpu: usize,
}

impl Pinning {
    /// Pins this process (and every thread it starts from now on) to the
    /// second CPU it may use; servers go to the first. `None` when fewer
    /// than two CPUs are allowed, `taskset` is missing, or the kernel
    /// refuses.
    pub fn apply() -> Option<Pinning> {
        let cpus = allowed_cpus()?;
        let (&server_cpu, &client_cpu) = (cpus.first()?, cpus.get(1)?);
        let taskset = Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !taskset || !pin_self(client_cpu) {
            return None;
        }
        Some(Pinning {
            server_cpu,
            client_cpu,
        })
    }

    /// `command` run on the server CPU.
    pub fn server_command(&self, command: &str) -> String {
        format!("taskset -c {} {command}", self.server_cpu)
    }
}

fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, and the size passed
    // is the size of the set handed over.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        set
    };
    // SAFETY: CPU_ISSET only reads the set, for indices below its capacity.
    let cpus = (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    Some(cpus)
}

fn pin_self(cpu: usize) -> bool {
    // SAFETY: as above; pid 0 is the calling thread, and threads started
    // later inherit its mask.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}
