//! A test bed with real parts: N hosts, each in a network namespace of its
//! own with an address of its own, joined by veth pairs to a bridge, and a
//! real DNS server ([`Dns`], dnsmasq) that serves their addresses under one
//! name and changes its records while it runs.
//!
//! ```text
//!  test process (this namespace)         plugtb{k}: bridge namespace
//!  plugtb{k}  198.18.k.1  ── veth ── test0 ─┐
//!                                     br0 198.18.k.2 (dnsmasq :53)
//!  plugtb{k}h0: eth0 198.18.k.10 ── veth ── host0 ─┤
//!  plugtb{k}h1: eth0 198.18.k.11 ── veth ── host1 ─┘  ...
//! ```
//!
//! `198.18.0.0/15` is the range set aside for tests of network devices
//! (RFC 2544); each bed takes one `/24` that this machine does not route
//! already, and nothing is ever sent beyond the bed: the addresses exist
//! only on its own links. Making namespaces needs root (`ip netns`); without
//! it, or with `PLUG_TESTBED=loopback`, the hosts are distinct loopback
//! addresses `127.18.k.10`, `127.18.k.11`, ... in this namespace and the
//! DNS server listens on a free port of 127.0.0.1. The bed says which on
//! stderr, uncaptured; under `CI=true` the fallback is refused unless asked
//! for.
//!
//! Dropping the bed kills what runs in it and deletes its namespaces and
//! links, also when a test fails; what a crashed run left behind is deleted
//! by the next bed, found by name prefix ([`PREFIX`]) and a claim whose
//! process is gone.
//!
//! ```no_run
//! # fn demo(echo_server: &str) {
//! use plug_test_support::testbed::{port_of, TestBed};
//! let mut bed = TestBed::start(3);
//! let addrs: Vec<_> = bed.hosts().iter().map(|h| h.addr()).collect();
//! bed.dns().set("fleet.plug.test", &addrs);
//! let servers = bed.serve_everywhere(echo_server, &[]); // e.g. env!("CARGO_BIN_EXE_echo-server")
//! let port = port_of(&servers[0].endpoint);
//! // connect_to = "dns+tcp://fleet.plug.test:{port}", discovery_nameserver = bed.dns().addr()
//! # }
//! ```

mod claim;
mod dns;
mod netns;

use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;

pub use claim::PREFIX;
pub use dns::{dnsmasq_available, Dns, DNSMASQ, DOMAIN};

use crate::process::ServerProcess;
use claim::Claim;
use dns::Placement;

/// How the bed's hosts are kept apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// A network namespace per host, joined by a bridge.
    Namespaces,
    /// Distinct loopback addresses in this namespace, and why.
    Loopback(String),
}

/// One host of the bed.
#[derive(Clone, Debug)]
pub struct Host {
    addr: IpAddr,
    netns: Option<String>,
}

impl Host {
    /// The host's own address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Its network namespace, when the bed has them.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// `tcp://ADDR:PORT` on this host.
    pub fn endpoint(&self, port: u16) -> String {
        format!("tcp://{}", SocketAddr::new(self.addr, port))
    }

    /// A command that runs `program` on this host: inside its namespace
    /// (`ip netns exec`, which keeps the pid), or as it is on loopback.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// The bed; everything in it is torn down when it is dropped.
pub struct TestBed {
    isolation: Isolation,
    hosts: Vec<Host>,
    dns: Option<Dns>,
    // Last: the claim is given up once everything else is gone.
    claim: Claim,
}

impl fmt::Debug for TestBed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestBed")
            .field("bed", &self.claim.k)
            .field("isolation", &self.isolation)
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

impl TestBed {
    /// A bed with `hosts` hosts. Panics, saying why, when it cannot be made.
    pub fn start(hosts: usize) -> TestBed {
        // SAFETY: geteuid(2) has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let asked = std::env::var("PLUG_TESTBED").ok();
        let wanted = match asked.as_deref() {
            Some("loopback") => Err("PLUG_TESTBED=loopback".to_owned()),
            _ if !root => Err("not root".to_owned()),
            _ => Ok(()),
        };
        let claim = Claim::take(wanted.is_ok());
        let k = claim.k;
        let isolation = match wanted.and_then(|()| netns::ip(&["netns", "add", &bridge(k)])) {
            Ok(_) => Isolation::Namespaces,
            Err(why) => Isolation::Loopback(why),
        };
        if let Isolation::Loopback(why) = &isolation {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !ci || asked.as_deref() == Some("loopback"),
                "test bed: no network namespaces under CI ({why})"
            );
        }
        let mut bed = TestBed {
            isolation,
            hosts: Vec::new(),
            dns: None,
            claim,
        };
        if bed.isolation == Isolation::Namespaces {
            bed.lay_bridge();
        }
        for _ in 0..hosts {
            bed.add_host();
        }
        bed.announce();
        bed
    }

    fn lay_bridge(&self) {
        let k = self.claim.k;
        let b = bridge(k);
        let test_side = format!("{}/24", self.test_side());
        let bridge_addr = format!("{}/24", bridge_addr(k));
        netns::must(&["-n", &b, "link", "set", "dev", "lo", "up"]);
        netns::must(&["-n", &b, "link", "add", "br0", "type", "bridge"]);
        // A bridge takes the lowest MAC address of its ports unless given
        // one: a host added later could change it, and the test's ARP entry
        // for the DNS server on the bridge would point nowhere for a while.
        let mac = format!("02:70:6c:74:{k:02x}:02");
        netns::must(&["-n", &b, "link", "set", "dev", "br0", "address", &mac]);
        netns::must(&["-n", &b, "addr", "add", &bridge_addr, "dev", "br0"]);
        netns::must(&["-n", &b, "link", "set", "dev", "br0", "up"]);
        netns::must(&[
            "link", "add", &b, "type", "veth", "peer", "name", "test0", "netns", &b,
        ]);
        netns::must(&["-n", &b, "link", "set", "dev", "test0", "master", "br0"]);
        netns::must(&["-n", &b, "link", "set", "dev", "test0", "up"]);
        netns::must(&["addr", "add", &test_side, "dev", &b]);
        netns::must(&["link", "set", "dev", &b, "up"]);
    }

    fn announce(&self) {
        let k = self.claim.k;
        let addrs: Vec<String> = self.hosts.iter().map(|h| h.addr.to_string()).collect();
        let line = match &self.isolation {
            Isolation::Namespaces => format!(
                "test bed {PREFIX}{k}: network namespaces, hosts {}, this side {}",
                addrs.join(" "),
                self.test_side()
            ),
            Isolation::Loopback(why) => format!(
                "test bed {PREFIX}{k}: NO network namespaces ({why}): hosts are loopback addresses {}",
                addrs.join(" ")
            ),
        };
        // Straight to stderr: the test harness captures only print macros,
        // and which bed a run had belongs in every run's output.
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// The bed's name, `plugtb{k}`: its bridge namespace and the test's
    /// end of the veth pair to it, when it has them.
    pub fn name(&self) -> String {
        bridge(self.claim.k)
    }

    /// How the hosts are kept apart.
    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// The hosts, in the order they were made.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Host `i`.
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// The address the test itself has on the bed: its end of the veth pair
    /// to the bridge, or 127.0.0.1.
    pub fn test_side(&self) -> IpAddr {
        match self.isolation {
            Isolation::Namespaces => Ipv4Addr::new(198, 18, self.claim.k, 1).into(),
            Isolation::Loopback(_) => Ipv4Addr::LOCALHOST.into(),
        }
    }

    /// Adds a host (e.g. a replica that joins later) and returns it.
    pub fn add_host(&mut self) -> &Host {
        let k = self.claim.k;
        let i = self.hosts.len();
        assert!(i < 200, "test bed: at most 200 hosts");
        let last = 10 + i as u8;
        let host = match self.isolation {
            Isolation::Namespaces => {
                let ns = format!("{PREFIX}{k}h{i}");
                let b = bridge(k);
                let port = format!("host{i}");
                let addr = Ipv4Addr::new(198, 18, k, last);
                let cidr = format!("{addr}/24");
                netns::must(&["netns", "add", &ns]);
                // Recorded at once, so a failure below still deletes it.
                self.hosts.push(Host {
                    addr: addr.into(),
                    netns: Some(ns.clone()),
                });
                netns::must(&["-n", &ns, "link", "set", "dev", "lo", "up"]);
                netns::must(&[
                    "-n", &b, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                    "netns", &ns,
                ]);
                netns::must(&["-n", &b, "link", "set", "dev", &port, "master", "br0"]);
                netns::must(&["-n", &b, "link", "set", "dev", &port, "up"]);
                netns::must(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"]);
                netns::must(&["-n", &ns, "link", "set", "dev", "eth0", "up"]);
                return self.hosts.last().unwrap();
            }
            Isolation::Loopback(_) => Host {
                addr: Ipv4Addr::new(127, 18, k, last).into(),
                netns: None,
            },
        };
        self.hosts.push(host);
        self.hosts.last().unwrap()
    }

    /// The bed's DNS server, started on first use. Panics when dnsmasq is
    /// missing; see [`dnsmasq_available`].
    pub fn dns(&mut self) -> &mut Dns {
        let k = self.claim.k;
        let isolation = &self.isolation;
        self.dns.get_or_insert_with(|| {
            let placement = match isolation {
                Isolation::Namespaces => Placement {
                    prefix: ["ip", "netns", "exec", &bridge(k)]
                        .map(str::to_owned)
                        .to_vec(),
                    listen: SocketAddr::new(bridge_addr(k).into(), 53),
                },
                Isolation::Loopback(_) => Placement {
                    prefix: Vec::new(),
                    listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
                },
            };
            Dns::start(placement, claim::bed_dir(k))
        })
    }

    /// Starts `bin --bind tcp://ADDR:PORT ARGS...` on host `i` (port 0: any
    /// free port) and waits for its `listening on` line.
    pub fn serve(&self, i: usize, bin: &str, port: u16, args: &[&str]) -> ServerProcess {
        let host = self.host(i);
        let bind = match port {
            0 => format!("tcp://{}:*", host.addr),
            p => host.endpoint(p),
        };
        let mut command = host.command(bin);
        command.args(["--bind", &bind]).args(args);
        ServerProcess::spawn(command)
    }

    /// Starts `bin` on every host, all on one port (the one the first host
    /// got), as replicas behind one name are.
    pub fn serve_everywhere(&self, bin: &str, args: &[&str]) -> Vec<ServerProcess> {
        let first = self.serve(0, bin, 0, args);
        let port = port_of(&first.endpoint);
        let mut all = vec![first];
        for i in 1..self.hosts.len() {
            all.push(self.serve(i, bin, port, args));
        }
        all
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        self.dns = None;
        if self.isolation == Isolation::Namespaces {
            let k = self.claim.k;
            // Deleting a link is immediate; a namespace's own links go only
            // when the kernel gets round to the namespace.
            let _ = netns::ip(&["link", "del", "dev", &bridge(k)]);
            for host in &self.hosts {
                if let Some(ns) = &host.netns {
                    netns::delete_namespace(ns);
                }
            }
            netns::delete_namespace(&bridge(k));
        }
    }
}

/// The port of `tcp://ADDR:PORT`.
pub fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in `{endpoint}`"))
}

/// Bed `k`'s bridge namespace, also the name of the test's end of the veth
/// pair to it.
fn bridge(k: u8) -> String {
    format!("{PREFIX}{k}")
}

fn bridge_addr(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, k, 2)
}
