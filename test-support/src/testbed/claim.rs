//! Which bed is whose: each bed claims a number `k` (its names start
//! `plugtb{k}`, its addresses are `198.18.k.0/24` or `127.18.k.0/24`) with a
//! file that holds its process's pid and start time. Claims are made under
//! a lock, and a claim whose process is gone is cleaned up, with whatever
//! that process left behind (namespaces, links) found by name prefix: beds
//! of other test processes running at the same time are left alone.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use super::netns;

/// Every name the bed gives a namespace or a link starts with this.
pub const PREFIX: &str = "plugtb";

/// Claims, the lock and each bed's own directory live here. Root's beds
/// make namespaces, which every root process sees, so their claims are in
/// one place whatever `TMPDIR` says (beside `/run/netns`); other users' beds
/// are loopback only and claim in a directory of their own.
fn state_dir() -> PathBuf {
    // SAFETY: geteuid(2) has no preconditions.
    match unsafe { libc::geteuid() } {
        0 => PathBuf::from("/run/plug-testbed"),
        uid => std::env::temp_dir().join(format!("plug-testbed-{uid}")),
    }
}

/// Bed `k`'s own directory (the DNS server's files).
pub(crate) fn bed_dir(k: u8) -> PathBuf {
    state_dir().join(format!("bed-{k}"))
}

/// This bed's number, held until dropped.
pub(crate) struct Claim {
    pub(crate) k: u8,
    file: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.file);
    }
}

/// The lock every claim is made under; released when dropped.
struct Lock {
    _file: File,
}

impl Lock {
    fn take() -> Lock {
        let dir = state_dir();
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("test bed: cannot create {}: {e}", dir.display()));
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("test bed: cannot open {}: {e}", path.display()));
        // SAFETY: flock(2) on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "test bed: flock {}", path.display());
        Lock { _file: file }
    }
}

/// `pid starttime` of this process, as a claim records it.
fn owner(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; start time is the
    // 22nd field, the 20th after it.
    let after = &stat[stat.rfind(')')? + 2..];
    let start = after.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Whether the process that wrote a claim still runs.
fn alive(claim: &str) -> bool {
    let Some(pid) = claim.split_whitespace().next().and_then(|p| p.parse().ok()) else {
        return false;
    };
    owner(pid).as_deref() == Some(claim.trim())
}

/// The bed number in a name `plugtb{k}...`.
fn number(name: &str) -> Option<u8> {
    let digits: String = name
        .strip_prefix(PREFIX)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Whether IPv4 prefix `route` (`a.b.c.d/len` or `a.b.c.d`) overlaps
/// `198.18.k.0/24`.
fn overlaps(route: &str, k: u8) -> bool {
    let (addr, len) = route.split_once('/').unwrap_or((route, "32"));
    let (Ok(addr), Ok(len)) = (addr.parse::<std::net::Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    let ours = u32::from(std::net::Ipv4Addr::new(198, 18, k, 0));
    let shorter = len.min(24);
    let mask = if shorter == 0 {
        0
    } else {
        u32::MAX << (32 - shorter)
    };
    (u32::from(addr) & mask) == (ours & mask)
}

impl Claim {
    /// Claims a free number. With `namespaces`, also deletes what dead beds
    /// left and skips numbers whose subnet this machine already routes.
    pub(crate) fn take(namespaces: bool) -> Claim {
        let _lock = Lock::take();
        let dir = state_dir();
        let mut live = [false; 256];
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(k) = name
                .strip_prefix("claim-")
                .and_then(|k| k.parse::<u8>().ok())
            else {
                continue;
            };
            match fs::read_to_string(entry.path()) {
                Ok(claim) if alive(&claim) => live[k as usize] = true,
                _ => {
                    let _ = fs::remove_file(entry.path());
                    let _ = fs::remove_dir_all(bed_dir(k));
                }
            }
        }
        let routes = if namespaces {
            for link in netns::links() {
                if number(&link).is_some_and(|k| !live[k as usize]) {
                    let _ = netns::ip(&["link", "del", "dev", &link]);
                }
            }
            for ns in netns::namespaces() {
                if number(&ns).is_some_and(|k| !live[k as usize]) {
                    netns::delete_namespace(&ns);
                }
            }
            netns::routes()
        } else {
            Vec::new()
        };
        let k = (0..=255u8)
            .find(|&k| !live[k as usize] && !routes.iter().any(|r| overlaps(r, k)))
            .expect("test bed: all 256 bed numbers are taken");
        let file = dir.join(format!("claim-{k}"));
        let me = owner(std::process::id()).expect("test bed: /proc/self/stat");
        File::create(&file)
            .and_then(|mut f| f.write_all(me.as_bytes()))
            .unwrap_or_else(|e| panic!("test bed: cannot write {}: {e}", file.display()));
        Claim { k, file }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_their_bed_number() {
        assert_eq!(number("plugtb7"), Some(7));
        assert_eq!(number("plugtb12h3"), Some(12));
        assert_eq!(number("plugtb255"), Some(255));
        assert_eq!(number("plugtb256"), None);
        assert_eq!(number("plugtbx"), None);
        assert_eq!(number("eth0"), None);
    }

    #[test]
    fn overlapping_routes() {
        assert!(overlaps("198.18.3.0/24", 3));
        assert!(overlaps("198.18.0.0/15", 200));
        assert!(overlaps("198.18.3.7", 3));
        assert!(overlaps("198.18.3.128/25", 3));
        assert!(!overlaps("198.18.4.0/24", 3));
        assert!(!overlaps("192.0.2.0/24", 3));
        assert!(overlaps("0.0.0.0/0", 3));
    }

    #[test]
    fn a_claim_of_this_process_is_alive_and_a_made_up_one_is_not() {
        let me = owner(std::process::id()).unwrap();
        assert!(alive(&me));
        let pid = std::process::id();
        assert!(!alive(&format!("{pid} 1")));
        assert!(!alive(""));
    }
}
