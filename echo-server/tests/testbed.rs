//! The test bed proven with real parts: hosts in network namespaces of
//! their own (or distinct loopback addresses where namespaces cannot be
//! made; the bed says which on stderr), the real echo-server running inside
//! them, and a real DNS server (dnsmasq) whose records discovery follows as
//! they are added and removed.
//!
//! Every address used is the bed's own (198.18.k.0/24 on its links, or
//! 127.18.k.0/24 and 127.0.0.1). Every wait has a deadline.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use plug::{Discovery, DiscoveryConfig, DiscoveryStats, PlugBuilder};
use plug_test_support::testbed::{dnsmasq_available, port_of, Isolation, TestBed, DNSMASQ};
use serde_json::json;
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_echo-server");
/// The longest any one test may take.
const DEADLINE: Duration = Duration::from_secs(60);
const FLEET: &str = "fleet.plug.test";

/// Whether dnsmasq is there; missing, the test is skipped loudly, or fails
/// under CI.
fn have_dnsmasq() -> bool {
    if dnsmasq_available() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{DNSMASQ} is missing (apt-get install dnsmasq-base)"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED: {DNSMASQ} is missing (apt-get install dnsmasq-base)"
    );
    false
}

fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(DEADLINE, f)
                .await
                .expect("test deadline")
        });
}

fn endpoints(addrs: &[IpAddr], port: u16) -> Vec<String> {
    let mut v: Vec<String> = addrs
        .iter()
        .map(|a| format!("tcp://{}", std::net::SocketAddr::new(*a, port)))
        .collect();
    v.sort();
    v
}

/// Waits until the published set is `want`.
async fn until_set(rx: &mut watch::Receiver<Vec<String>>, want: &[String]) {
    rx.wait_for(|now| now == want)
        .await
        .expect("discovery stopped");
}

/// Waits until a lookup that started after now has finished.
async fn until_fresh_lookup(d: &Discovery) -> DiscoveryStats {
    let after = d.stats().lookups + 1;
    loop {
        let s = d.stats();
        if s.lookups > after {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn discovery_follows_the_records_of_a_real_dns_server() {
    if !have_dnsmasq() {
        return;
    }
    let mut bed = TestBed::start(3);
    let port = 9000;
    let mut addrs: Vec<IpAddr> = bed.hosts().iter().map(|h| h.addr()).collect();
    let ipv6 = "::1".parse::<IpAddr>().unwrap();
    bed.dns().set(FLEET, &addrs);
    bed.dns().set("mixed.plug.test", &[addrs[0], ipv6]);
    let nameserver = bed.dns().addr();
    let refresh = Duration::from_millis(500);
    let config = DiscoveryConfig {
        refresh,
        nameserver: Some(nameserver),
    };
    run(async {
        let fleet = Discovery::start(
            format!("dns+tcp://{FLEET}:{port}").parse().unwrap(),
            &config,
        )
        .unwrap();
        let mut rx = fleet.endpoints();
        until_set(&mut rx, &endpoints(&addrs, port)).await;
        println!("resolved {FLEET} to {:?}", *rx.borrow());

        // Every A and every AAAA record.
        let mixed = Discovery::start(
            format!("dns+tcp://mixed.plug.test:{port}").parse().unwrap(),
            &config,
        )
        .unwrap();
        until_set(&mut mixed.endpoints(), &endpoints(&[addrs[0], ipv6], port)).await;
        drop(mixed);

        // A record added is seen by the first lookup that starts after the
        // server has it, or the one in flight: within one refresh period.
        let new = bed.add_host().addr();
        bed.dns().add(FLEET, new);
        let before = fleet.stats().lookups;
        let started = Instant::now();
        addrs.push(new);
        until_set(&mut rx, &endpoints(&addrs, port)).await;
        let s = fleet.stats();
        println!(
            "added {new}: seen by lookup {} (lookups done when dnsmasq had it: {before}) after {:?}",
            s.changed_by_lookup,
            started.elapsed()
        );
        assert!(s.changed_by_lookup <= before + 2, "{s:?}");

        // A record removed: the same.
        let gone = addrs.remove(1);
        bed.dns().remove(FLEET, gone);
        let before = fleet.stats().lookups;
        let started = Instant::now();
        until_set(&mut rx, &endpoints(&addrs, port)).await;
        let s = fleet.stats();
        println!(
            "removed {gone}: seen by lookup {} (lookups done when dnsmasq had it: {before}) after {:?}",
            s.changed_by_lookup,
            started.elapsed()
        );
        assert!(s.changed_by_lookup <= before + 2, "{s:?}");

        // Every record removed (NXDOMAIN): the last good set stays.
        bed.dns().set(FLEET, &[]);
        let failures = fleet.stats().failures;
        let s = until_fresh_lookup(&fleet).await;
        assert!(s.failures > failures, "{s:?}");
        assert_eq!(s.endpoints, endpoints(&addrs, port), "{s:?}");
        assert!(s.last_error.is_some(), "{s:?}");
        println!(
            "no record: kept {:?}, last error {:?}",
            s.endpoints, s.last_error
        );
    });
}

#[test]
fn a_server_in_a_host_answers_the_test_side() {
    let bed = TestBed::start(2);
    let server = bed.serve(1, BIN, 0, &[]);
    let host = bed.host(1);
    assert!(
        server
            .endpoint
            .starts_with(&format!("tcp://{}:", host.addr())),
        "{}",
        server.endpoint
    );
    if let Some(ns) = host.netns() {
        let out = std::process::Command::new("ip")
            .args(["netns", "identify", &server.pid().to_string()])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ns);
    }
    run(async {
        let p = PlugBuilder::new("bed")
            .connect_to(&server.endpoint)
            .rpc()
            .unwrap();
        let reply = p
            .request(json!({"method": "echo", "params": ["across the bridge"]}))
            .await
            .unwrap();
        assert_eq!(reply.result(), &json!(["across the bridge"]));
    });
    let counts = server.terminate();
    assert_eq!(counts.received, 1, "{counts:?}");
    println!(
        "{:?}: a request from {} answered by {}",
        bed.isolation(),
        bed.test_side(),
        host.addr()
    );
}

#[test]
fn the_discovered_endpoints_are_the_replicas() {
    if !have_dnsmasq() {
        return;
    }
    let mut bed = TestBed::start(3);
    let servers = bed.serve_everywhere(BIN, &[]);
    let port = port_of(&servers[0].endpoint);
    let addrs: Vec<IpAddr> = bed.hosts().iter().map(|h| h.addr()).collect();
    bed.dns().set(FLEET, &addrs);
    let config = DiscoveryConfig {
        refresh: Duration::from_millis(500),
        nameserver: Some(bed.dns().addr()),
    };
    run(async {
        let fleet = Discovery::start(
            format!("dns+tcp://{FLEET}:{port}").parse().unwrap(),
            &config,
        )
        .unwrap();
        let mut rx = fleet.endpoints();
        until_set(&mut rx, &endpoints(&addrs, port)).await;
        let found = rx.borrow().clone();
        for endpoint in found {
            let p = PlugBuilder::new("replica")
                .connect_to(&endpoint)
                .rpc()
                .unwrap();
            let reply = p
                .request(json!({"method": "echo", "params": [endpoint]}))
                .await
                .unwrap();
            assert_eq!(reply.result(), &json!([endpoint]));
        }
    });
    for (server, addr) in servers.into_iter().zip(&addrs) {
        let counts = server.terminate();
        assert_eq!(counts.received, 1, "{addr}: {counts:?}");
    }
    if let Isolation::Loopback(why) = bed.isolation() {
        println!("loopback addresses only: {why}");
    }
}

/// Set in the child process of `what_a_killed_run_left_is_removed`.
const CHILD: &str = "PLUG_TESTBED_KILLED_CHILD";

/// The identity of namespace `ns` (its file's inode), if it exists.
fn netns_inode(ns: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/run/netns/{ns}"))
        .ok()
        .map(|m| m.ino())
}

/// Field 22 of /proc/PID/stat, which tells a process from a later one
/// with the same pid.
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19).map(str::to_owned)
}

/// The state letter of process `pid`, while it is the one born at `born`.
fn process_state(pid: i32, born: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    (after.split_whitespace().nth(19)? == born).then(|| after.chars().next())?
}

#[test]
fn what_a_killed_run_left_is_removed() {
    if std::env::var_os(CHILD).is_some() {
        // The run that dies: a bed with a process in it, then SIGKILL from
        // the parent before any clean-up can run.
        let bed = TestBed::start(2);
        let mut sleeper = bed.host(0).command("sleep").arg("60").spawn().unwrap();
        let hosts: Vec<&str> = bed.hosts().iter().filter_map(|h| h.netns()).collect();
        println!("ready {} {} {}", bed.name(), sleeper.id(), hosts.join(" "));
        std::thread::sleep(DEADLINE);
        // Only if the parent never killed this run.
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        return;
    }
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "what_a_killed_run_left_is_removed",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.strip_prefix("ready ") {
                let _ = tx.send(rest.to_owned());
            }
        }
    });
    let ready = rx.recv_timeout(DEADLINE).expect("the child made no bed");
    let mut words = ready.split_whitespace();
    let bridge = words.next().unwrap().to_owned();
    let sleeper: i32 = words.next().unwrap().parse().unwrap();
    let namespaces: Vec<String> = std::iter::once(bridge.clone())
        .chain(words.map(str::to_owned))
        .filter(|ns| netns_inode(ns).is_some())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    if namespaces.is_empty() {
        // A loopback bed leaves no namespace behind, only its process.
        // SAFETY: kill(2) on the process the killed child started.
        unsafe { libc::kill(sleeper, libc::SIGKILL) };
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "!!! SKIPPED: the bed had no namespaces, so none could be left behind"
        );
        return;
    }
    let born = start_time(sleeper).expect("the bed's process died with its parent");
    let left: Vec<(String, u64)> = namespaces
        .iter()
        .map(|ns| (ns.clone(), netns_inode(ns).expect("left behind")))
        .collect();

    let bed = TestBed::start(1);
    // The same names may be in use again, by the new bed: then they must
    // be new namespaces.
    for (ns, inode) in &left {
        assert_ne!(netns_inode(ns), Some(*inode), "{ns} was left behind");
    }
    let started = Instant::now();
    while let Some(state) = process_state(sleeper, &born) {
        if state == 'Z' {
            break; // dead, waiting for its new parent to reap it
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the process in the old bed still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "{:?}: removed {} namespaces and process {sleeper} of a killed run (bed {bridge}); new bed {}",
        bed.isolation(),
        left.len(),
        bed.name()
    );
}

#[test]
fn a_bed_leaves_nothing_behind_even_when_its_test_fails() {
    let mut seen: Vec<(String, u64)> = Vec::new();
    let mut sleeper = 0;
    let (exited, exit) = std::sync::mpsc::channel();
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let bed = TestBed::start(2);
        for ns in std::iter::once(bed.name()).chain(
            bed.hosts()
                .iter()
                .filter_map(|h| h.netns().map(str::to_owned)),
        ) {
            if let Some(inode) = netns_inode(&ns) {
                seen.push((ns, inode));
            }
        }
        let mut child = bed.host(1).command("sleep").arg("60").spawn().unwrap();
        sleeper = child.id() as i32;
        std::thread::spawn(move || exited.send(child.wait()));
        panic!("a test that fails with a bed in use");
    }));
    assert!(failed.is_err());
    for (ns, inode) in &seen {
        assert_ne!(netns_inode(ns), Some(*inode), "{ns} is still there");
    }
    if seen.is_empty() {
        // Loopback: nothing but the process to end, which the bed does not
        // track; this test ends it.
        // SAFETY: kill(2) on the process this test started.
        unsafe { libc::kill(sleeper, libc::SIGKILL) };
        return;
    }
    let status = exit
        .recv_timeout(DEADLINE)
        .expect("the process in the bed still runs")
        .unwrap();
    assert!(!status.success(), "{status}");
    println!(
        "a failed test's bed: {} namespaces and process {sleeper} gone",
        seen.len()
    );
}
