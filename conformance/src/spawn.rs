//! `check --spawn`: start the server under test on a free loopback
//! endpoint, watch it, and stop it (SIGTERM, then SIGKILL).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of server output shown at the end of the report.
const TAIL_LINES: usize = 20;
/// Lines kept in memory, for the output of each failed case.
const KEPT_LINES: usize = 5000;

/// A free `tcp://127.0.0.1:PORT`: bind port 0, read the port, release it.
pub fn free_endpoint() -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(format!("tcp://127.0.0.1:{}", listener.local_addr()?.port()))
}

/// A server started with `sh -c`, in its own process group so that stopping
/// it stops whatever the command started.
pub struct Spawned {
    child: Child,
    /// The command as run.
    pub command: String,
    /// Where it was told to bind.
    pub endpoint: String,
    tail: Arc<Mutex<Output>>,
    exit: Option<ExitStatus>,
    echo_output: bool,
}

/// The server's output lines, numbered from the start.
#[derive(Default)]
struct Output {
    lines: VecDeque<String>,
    total: u64,
}

impl Spawned {
    /// Starts `template` with `{endpoint}` replaced by a free endpoint. With
    /// `echo_output` the server's output is copied to stderr.
    pub fn start(template: &str, echo_output: bool) -> std::io::Result<Spawned> {
        Spawned::start_at(template, &free_endpoint()?, echo_output)
    }

    /// Starts `template` with `{endpoint}` replaced by `endpoint`.
    pub fn start_at(template: &str, endpoint: &str, echo_output: bool) -> std::io::Result<Spawned> {
        let endpoint = endpoint.to_owned();
        let command = template.replace("{endpoint}", &endpoint);
        let tail = Arc::new(Mutex::new(Output::default()));
        let child = launch(&command, echo_output, &tail)?;
        Ok(Spawned {
            child,
            command,
            endpoint,
            tail,
            exit: None,
            echo_output,
        })
    }

    /// Stops the server and starts the same command again, on the same
    /// endpoint; its output continues the same numbering.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop(Duration::from_secs(3));
        self.child = launch(&self.command, self.echo_output, &self.tail)?;
        self.exit = None;
        Ok(())
    }

    /// How many lines the server has printed so far.
    pub fn output_seq(&self) -> u64 {
        self.tail.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    /// The lines printed since `seq` (those still kept).
    pub fn output_since(&self, seq: u64) -> Vec<String> {
        let out = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let first = out.total - out.lines.len() as u64;
        let skip = seq.saturating_sub(first) as usize;
        out.lines.iter().skip(skip).cloned().collect()
    }
}

fn launch(command: &str, echo_output: bool, tail: &Arc<Mutex<Output>>) -> std::io::Result<Child> {
    {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        if let Some(out) = child.stdout.take() {
            keep_tail(out, tail.clone(), echo_output);
        }
        if let Some(err) = child.stderr.take() {
            keep_tail(err, tail.clone(), echo_output);
        }
        Ok(child)
    }
}

impl Spawned {
    /// How the server exited, if it has.
    pub fn exited(&mut self) -> Option<String> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit.map(describe)
    }

    /// The last lines the server printed.
    pub fn output_tail(&self) -> Vec<String> {
        // Give the reader threads a moment to catch up with a dying server.
        std::thread::sleep(Duration::from_millis(50));
        let out = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let skip = out.lines.len().saturating_sub(TAIL_LINES);
        out.lines.iter().skip(skip).cloned().collect()
    }

    /// Stops the server: SIGTERM to its process group, SIGKILL after
    /// `grace`. Returns how it had exited on its own, if it had.
    pub fn stop(&mut self, grace: Duration) -> Option<String> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals our child's group.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // SAFETY: as above; stragglers of the group go too.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        None
    }

    /// The process id (for tests that stop or freeze it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

fn keep_tail(stream: impl Read + Send + 'static, tail: Arc<Mutex<Output>>, echo: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("server| {line}");
            }
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            if t.lines.len() == KEPT_LINES {
                t.lines.pop_front();
            }
            t.lines.push_back(line);
            t.total += 1;
        }
    });
}
