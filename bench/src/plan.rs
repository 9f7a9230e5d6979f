//! What is measured: the rows (implementations), the payloads and the
//! numbers of requests in flight, and the loop that runs them, one server
//! process at a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use plug::transport::Transport;
use plug_conformance::bench::{measure, BenchOptions, Load, Stop, Target};
use plug_conformance::{Profile, Spawned};

use crate::drivers::{self, Measured};
use crate::pin::Pinning;
use crate::plug_client::{self, Amount};
use crate::servers::tcp_addr;

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// How a row's client talks to its server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Client {
    Zmq,
    Tcp,
    Http,
    /// The plug library (`plug_client`), on its default transport (native
    /// for `tcp://`) or the one given.
    Plug(Profile, Option<Transport>),
    /// The engine of `plug-conformance bench`.
    Bench(Profile),
}

/// The row of the harness's engine, measured against the libzmq echo.
pub const BENCH_ROW: &str = "plug-conformance bench raw";

/// One implementation in the table.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: &'static str,
    pub client: Client,
    /// `{endpoint}` is replaced; `{self}` is this executable.
    server: String,
    /// Why the row cannot run here, if it cannot.
    pub missing: Option<String>,
    /// Runs the 64 MiB transfer too.
    pub big: bool,
    /// Measured only when an `--only` starting with `cross` names it (a
    /// diagnostic, not a baseline).
    pub on_request: bool,
}

/// One measured cell.
#[derive(Clone, Debug)]
pub struct Cell {
    pub row: &'static str,
    pub size: usize,
    pub window: usize,
    pub measured: Measured,
    pub note: Option<String>,
}

/// Sizes, windows and durations of a run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub sizes: Vec<usize>,
    pub windows: Vec<usize>,
    /// The raw-transfer size (64 MiB; smaller in quick mode).
    pub big_size: usize,
    pub duration: Duration,
    pub big_duration: Duration,
    pub warmup: Duration,
    /// Alternating pairs measured again for the two targets that compare
    /// small messages (see [`paired`]).
    pub pair_rounds: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            sizes: vec![64, KIB, MIB],
            windows: vec![1, 16, 256],
            big_size: 64 * MIB,
            duration: Duration::from_millis(1500),
            big_duration: Duration::from_secs(3),
            warmup: Duration::from_millis(300),
            pair_rounds: 5,
        }
    }

    /// Every row and code path, briefly: for CI.
    pub fn quick() -> Plan {
        Plan {
            sizes: vec![64],
            windows: vec![1, 16],
            big_size: MIB,
            duration: Duration::from_millis(100),
            big_duration: Duration::from_millis(100),
            warmup: Duration::ZERO,
            pair_rounds: 1,
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is in the repository")
        .to_path_buf()
}

fn works(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Every row, with the reason a language row cannot run here; servers
/// start on the server CPU of `pinning`.
pub fn rows(pinning: Option<Pinning>) -> Vec<Row> {
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "plug-bench".into());
    let on_server_cpu = |command: String| match pinning {
        Some(p) => p.server_command(&command),
        None => command,
    };
    let serve = |kind: &str| on_server_cpu(format!("'{me}' serve {kind} {{endpoint}}"));
    let template = |lang: &str| {
        on_server_cpu(format!(
            "'{}' {{endpoint}} rpc",
            repo_root()
                .join("bindings-examples")
                .join(lang)
                .join("run")
                .display()
        ))
    };
    let node_ok = repo_root()
        .join("bindings-examples/node/node_modules/zeromq")
        .is_dir()
        && works("node", &["--version"]);
    let need = |ok: bool, what: &str| {
        (!ok).then(|| format!("{what} missing: run `sudo bindings-examples/install-deps`"))
    };
    vec![
        Row {
            name: "raw libzmq",
            client: Client::Zmq,
            server: serve("zmq"),
            missing: None,
            big: true,
            on_request: false,
        },
        // Which side of a plug round trip costs what: each plug side
        // against the libzmq baseline's other side.
        Row {
            name: "cross: libzmq client, plug raw server",
            client: Client::Zmq,
            server: serve("plug-raw"),
            missing: None,
            big: false,
            on_request: true,
        },
        Row {
            name: "cross: plug raw client, libzmq server",
            client: Client::Plug(Profile::Raw, None),
            server: serve("zmq"),
            missing: None,
            big: false,
            on_request: true,
        },
        Row {
            name: "cross: plug raw client on libzmq, libzmq server",
            client: Client::Plug(Profile::Raw, Some(Transport::Libzmq)),
            server: serve("zmq"),
            missing: None,
            big: false,
            on_request: true,
        },
        // The harness's engine against the same server as the libzmq client:
        // a bench tool must not be the bottleneck.
        Row {
            name: BENCH_ROW,
            client: Client::Bench(Profile::Raw),
            server: serve("zmq"),
            missing: None,
            big: false,
            on_request: false,
        },
        Row {
            name: "TCP",
            client: Client::Tcp,
            server: serve("tcp"),
            missing: None,
            big: true,
            on_request: false,
        },
        Row {
            name: "plug raw",
            client: Client::Plug(Profile::Raw, None),
            server: serve("plug-raw"),
            missing: None,
            big: true,
            on_request: false,
        },
        Row {
            name: "plug rpc",
            client: Client::Plug(Profile::Rpc, None),
            server: serve("plug-rpc"),
            missing: None,
            big: false,
            on_request: false,
        },
        // The same two on libzmq, both sides: what the native transport
        // changes.
        Row {
            name: "plug raw (libzmq)",
            client: Client::Plug(Profile::Raw, Some(Transport::Libzmq)),
            server: serve("plug-raw-libzmq"),
            missing: None,
            big: false,
            on_request: false,
        },
        Row {
            name: "plug rpc (libzmq)",
            client: Client::Plug(Profile::Rpc, Some(Transport::Libzmq)),
            server: serve("plug-rpc-libzmq"),
            missing: None,
            big: false,
            on_request: false,
        },
        Row {
            name: "HTTP/1.1",
            client: Client::Http,
            server: serve("http"),
            missing: None,
            big: false,
            on_request: false,
        },
        Row {
            name: "Python",
            client: Client::Plug(Profile::Rpc, None),
            server: template("python"),
            missing: need(works("python3", &["-c", "import zmq"]), "python3 or pyzmq"),
            big: false,
            on_request: false,
        },
        Row {
            name: "Node.js",
            client: Client::Plug(Profile::Rpc, None),
            server: template("node"),
            missing: need(node_ok, "node or zeromq.js (npm ci)"),
            big: false,
            on_request: false,
        },
        Row {
            name: "Ruby",
            client: Client::Plug(Profile::Rpc, None),
            server: template("ruby"),
            missing: need(
                works("ruby", &["-e", "require 'ffi-rzmq'"]),
                "ruby or ffi-rzmq",
            ),
            big: false,
            on_request: false,
        },
    ]
}

/// Waits until something accepts TCP connections on `endpoint`'s port.
fn wait_listening(server: &mut Spawned, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let addr = tcp_addr(&server.endpoint).to_owned();
    loop {
        if let Some(status) = server.exited() {
            anyhow::bail!(
                "`{}` exited: {status}: {}",
                server.command,
                server.output_tail().join(" | ")
            );
        }
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "`{}` did not listen within {limit:?}",
            server.command
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one(
    row: &Row,
    endpoint: &str,
    size: usize,
    window: usize,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<Measured> {
    let addr = tcp_addr(endpoint);
    let run = |d: Duration| -> anyhow::Result<Measured> {
        match row.client {
            Client::Zmq => drivers::zmq(endpoint, size, window, d),
            Client::Tcp => drivers::tcp(addr, size, window, d),
            Client::Http => drivers::http(addr, size, window, d),
            Client::Plug(profile, transport) => {
                plug_client::measure(endpoint, profile, transport, size, window, Amount::Time(d))
            }
            Client::Bench(profile) => {
                let mut opts = BenchOptions::new(Target::Endpoint(endpoint.into()), profile);
                opts.load = Load::Closed { window };
                opts.stop = Stop::Duration(d);
                opts.size = size;
                opts.timeout = Duration::from_secs(30);
                let report = measure(endpoint, &opts)?;
                Ok(Measured::from(&report))
            }
        }
    };
    if !warmup.is_zero() {
        run(warmup)?;
    }
    run(duration)
}

/// Runs `plan` for every row that can run; `log` hears about progress.
pub fn run(plan: &Plan, rows: &[Row], log: &mut dyn FnMut(&str)) -> Vec<Cell> {
    let mut cells = Vec::new();
    for row in rows.iter().filter(|r| r.missing.is_none()) {
        let mut server = match Spawned::start(&row.server, false) {
            Ok(s) => s,
            Err(e) => {
                log(&format!("{}: could not start: {e}", row.name));
                continue;
            }
        };
        if let Err(e) = wait_listening(&mut server, Duration::from_secs(20)) {
            log(&format!("{}: {e:#}", row.name));
            continue;
        }
        let endpoint = server.endpoint.clone();
        let mut shapes: Vec<(usize, usize, Duration)> = Vec::new();
        for &size in &plan.sizes {
            for &window in &plan.windows {
                shapes.push((size, window, plan.duration));
            }
        }
        if row.big {
            shapes.push((plan.big_size, 1, plan.big_duration));
        }
        for (size, window, duration) in shapes {
            let warmup = if size >= MIB {
                Duration::ZERO
            } else {
                plan.warmup
            };
            let started = Instant::now();
            let (measured, note) = match one(row, &endpoint, size, window, duration, warmup) {
                Ok(m) => (m, None),
                Err(e) => (Measured::default(), Some(format!("{e:#}"))),
            };
            log(&format!(
                "{:<11} {:>9} B x{:<3} {:>9.0} msgs/s  p50 {:>6} us  p99 {:>7} us  ({:.1} s){}",
                row.name,
                size,
                window,
                measured.msgs_per_s,
                measured.latency.p50,
                measured.latency.p99,
                started.elapsed().as_secs_f64(),
                note.as_deref()
                    .map(|n| format!("  FAILED: {n}"))
                    .unwrap_or_default()
            ));
            cells.push(Cell {
                row: row.name,
                size,
                window,
                measured,
                note,
            });
        }
        server.stop(Duration::from_secs(2));
    }
    cells
}

/// Two rows measured in alternation on one shape: `ratios[i]` is round
/// `i`'s `metric(a) / metric(b)`.
#[derive(Clone, Debug)]
pub struct Paired {
    pub a: &'static str,
    pub b: &'static str,
    pub size: usize,
    pub window: usize,
    pub a_runs: Vec<Measured>,
    pub b_runs: Vec<Measured>,
}

/// Measures rows `a` and `b` on one shape `plan.pair_rounds` times each,
/// alternating, with both servers running side by side (the idle one costs
/// nothing): a slow moment of the machine then hits both rows of a round,
/// and the median of the rounds is steadier than any single cell.
pub fn paired(
    plan: &Plan,
    rows: &[Row],
    (a, b): (&'static str, &'static str),
    (size, window): (usize, usize),
    log: &mut dyn FnMut(&str),
) -> Option<Paired> {
    let find = |name: &str| rows.iter().find(|r| r.name == name && r.missing.is_none());
    let (row_a, row_b) = (find(a)?, find(b)?);
    let start = |row: &Row| -> Option<Spawned> {
        let mut server = Spawned::start(&row.server, false).ok()?;
        wait_listening(&mut server, Duration::from_secs(20)).ok()?;
        Some(server)
    };
    let (mut server_a, mut server_b) = (start(row_a)?, start(row_b)?);
    let mut out = Paired {
        a,
        b,
        size,
        window,
        a_runs: Vec::new(),
        b_runs: Vec::new(),
    };
    for round in 0..plan.pair_rounds {
        for (row, server, runs) in [
            (row_a, &server_a, &mut out.a_runs),
            (row_b, &server_b, &mut out.b_runs),
        ] {
            match one(
                row,
                &server.endpoint,
                size,
                window,
                plan.duration,
                plan.warmup,
            ) {
                Ok(m) if m.ok > 0 => {
                    log(&format!(
                        "pair {}/{} {:<11} {size:>4} B x{window:<3} {:>9.0} msgs/s  p50 {:>6} us",
                        round + 1,
                        plan.pair_rounds,
                        row.name,
                        m.msgs_per_s,
                        m.latency.p50
                    ));
                    runs.push(m);
                }
                Ok(_) | Err(_) => {
                    log(&format!("pair {}: {} did not measure", round + 1, row.name));
                    return None;
                }
            }
        }
    }
    server_a.stop(Duration::from_secs(2));
    server_b.stop(Duration::from_secs(2));
    Some(out)
}
