//! What a program writes to a terminal, as against a pipe: [`stderr_on`].

use std::process::{Command, Stdio};
use std::time::Duration;

/// Where a program's stderr goes in [`stderr_on`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// A pipe, as when logs are redirected to a file or a harness.
    Pipe,
    /// A terminal: a pseudo-terminal from `script(1)` (util-linux, in
    /// Debian's essential `bsdutils`).
    Terminal,
}

/// Runs `bin args` (which must end by itself, e.g. on a bad flag) with
/// stderr on `sink` and `NO_COLOR` set to `no_color` (unset for `None`),
/// and returns what it wrote there: on a terminal, stdout and stderr
/// together. Panics when it runs past 20 s.
pub fn stderr_on(bin: &str, args: &[&str], sink: Sink, no_color: Option<&str>) -> String {
    let mut command = match sink {
        Sink::Pipe => {
            let mut c = Command::new(bin);
            c.args(args);
            c
        }
        Sink::Terminal => {
            let line = std::iter::once(bin)
                .chain(args.iter().copied())
                .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
                .collect::<Vec<_>>()
                .join(" ");
            let mut c = Command::new("script");
            c.args(["-qec", &line, "/dev/null"]);
            c
        }
    };
    command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match no_color {
        Some(v) => command.env("NO_COLOR", v),
        None => command.env_remove("NO_COLOR"),
    };
    let child = command
        .spawn()
        .expect("cannot run the program (or script(1))");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the program ran past 20 s")
        .unwrap();
    let text = match sink {
        Sink::Pipe => out.stderr,
        Sink::Terminal => out.stdout,
    };
    String::from_utf8_lossy(&text).into_owned()
}
