//! [`Dns`]: a real DNS server (dnsmasq) that serves the bed's records under
//! `plug.test`, and changes them while it runs.
//!
//! The records live in a hosts file given to dnsmasq with `--addn-hosts`;
//! a change rewrites the file and sends SIGHUP, and waits for dnsmasq's own
//! `read FILE - N names` log line: after it, every answer is the new one.
//! dnsmasq forwards nothing (`--no-resolv`), answers NXDOMAIN for unknown
//! names under `plug.test` and refuses every other name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Where Debian's `dnsmasq-base` puts the server.
pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// Every name the bed serves ends with this.
pub const DOMAIN: &str = "plug.test";

/// How long dnsmasq may take to start or to re-read its records.
const DNS_DEADLINE: Duration = Duration::from_secs(20);

/// Whether dnsmasq is installed.
pub fn dnsmasq_available() -> bool {
    Path::new(DNSMASQ).exists()
}

/// A running dnsmasq; killed when dropped.
pub struct Dns {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    hosts: PathBuf,
    lines: Receiver<String>,
    log: Vec<String>,
    records: BTreeMap<String, BTreeSet<IpAddr>>,
}

/// Where dnsmasq runs: the words that run a program there (none, or `ip
/// netns exec NS`) and the address it listens on; port 0 asks for a free
/// port.
pub(crate) struct Placement {
    pub(crate) prefix: Vec<String>,
    pub(crate) listen: SocketAddr,
}

impl Dns {
    /// Starts dnsmasq with no record; `dir` is the bed's own directory.
    pub(crate) fn start(placement: Placement, dir: PathBuf) -> Dns {
        assert!(
            dnsmasq_available(),
            "test bed: {DNSMASQ} is missing (Debian: apt-get install dnsmasq-base)"
        );
        fs::create_dir_all(&dir).expect("test bed: DNS directory");
        let hosts = dir.join("hosts");
        fs::write(&hosts, "").expect("test bed: hosts file");
        let mut last = String::new();
        // A free port found by binding may be taken before dnsmasq binds it:
        // then dnsmasq says so and exits, and another port is tried.
        for _ in 0..5 {
            let listen = match placement.listen.port() {
                0 => SocketAddr::new(placement.listen.ip(), free_port(placement.listen.ip())),
                _ => placement.listen,
            };
            match Dns::try_start(&placement, listen, &dir, &hosts) {
                Ok(dns) => return dns,
                Err(e) => last = e,
            }
        }
        panic!("test bed: dnsmasq did not start: {last}");
    }

    fn try_start(
        placement: &Placement,
        listen: SocketAddr,
        dir: &Path,
        hosts: &Path,
    ) -> Result<Dns, String> {
        let mut command = match placement.prefix.split_first() {
            None => Command::new(DNSMASQ),
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(DNSMASQ);
                c
            }
        };
        command
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--no-negcache",
                "--bind-interfaces",
                "--log-facility=-",
                "--pid-file=",
            ])
            .arg(format!("--local=/{DOMAIN}/"))
            .arg(format!("--listen-address={}", listen.ip()))
            .arg(format!("--port={}", listen.port()))
            .arg(format!("--addn-hosts={}", hosts.display()));
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // As root dnsmasq would become `nobody`, who cannot re-read the
            // hosts file in the bed's private directory.
            command.args(["--user=root", "--group=root"]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {DNSMASQ}: {e}"))?;
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut dns = Dns {
            child,
            addr: listen,
            dir: dir.to_owned(),
            hosts: hosts.to_owned(),
            lines,
            log: Vec::new(),
            records: BTreeMap::new(),
        };
        match dns.wait_for_read() {
            Ok(()) => Ok(dns),
            Err(e) => {
                let _ = dns.child.kill();
                let _ = dns.child.wait();
                Err(e)
            }
        }
    }

    /// The address to ask, e.g. for `discovery_nameserver`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The addresses `name` resolves to now.
    pub fn records(&self, name: &str) -> Vec<IpAddr> {
        self.records
            .get(name)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Makes `name` resolve to exactly `addrs` (none: NXDOMAIN), and
    /// returns once dnsmasq answers with them.
    pub fn set(&mut self, name: &str, addrs: &[IpAddr]) {
        assert!(
            name.ends_with(&format!(".{DOMAIN}")),
            "test bed: `{name}` is not under {DOMAIN}"
        );
        self.records
            .insert(name.to_owned(), addrs.iter().copied().collect());
        self.reload();
    }

    /// Adds one address record to `name`.
    pub fn add(&mut self, name: &str, addr: IpAddr) {
        let mut now = self.records(name);
        now.push(addr);
        self.set(name, &now);
    }

    /// Removes one address record of `name`.
    pub fn remove(&mut self, name: &str, addr: IpAddr) {
        let now: Vec<IpAddr> = self
            .records(name)
            .into_iter()
            .filter(|a| *a != addr)
            .collect();
        self.set(name, &now);
    }

    /// Writes the hosts file whole (a rename, so dnsmasq never reads half
    /// of it), sends SIGHUP and waits until dnsmasq has read it.
    fn reload(&mut self) {
        let mut text = String::new();
        for (name, addrs) in &self.records {
            for addr in addrs {
                text.push_str(&format!("{addr} {name}\n"));
            }
        }
        let next = self.dir.join("hosts.next");
        fs::File::create(&next)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| fs::rename(&next, &self.hosts))
            .expect("test bed: write the hosts file");
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) };
        assert_eq!(rc, 0, "test bed: SIGHUP to dnsmasq");
        if let Err(e) = self.wait_for_read() {
            panic!("test bed: dnsmasq did not re-read its records: {e}");
        }
    }

    /// Waits for the next `read HOSTS - N names` line.
    fn wait_for_read(&mut self) -> Result<(), String> {
        let wanted = format!("read {} - ", self.hosts.display());
        let deadline = Instant::now() + DNS_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line.contains(&wanted);
                    self.log.push(line);
                    if done {
                        return Ok(());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "no `{wanted}` line within {DNS_DEADLINE:?}; log:\n{}",
                        self.log.join("\n")
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(format!(
                        "dnsmasq exited ({status}); log:\n{}",
                        self.log.join("\n")
                    ));
                }
            }
        }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A port free for both UDP and TCP on `ip` right now.
fn free_port(ip: IpAddr) -> u16 {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind((ip, 0)).expect("test bed: bind a UDP port");
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("test bed: no port free for both UDP and TCP on {ip}");
}
