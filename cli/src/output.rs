//! Writing to stdout when the reader may go away (`plug ... | head -1`).
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with
//! `BrokenPipe`; `print!` would panic on it. Here the first such failure
//! marks stdout closed: later output is skipped and the command ends with
//! its own status, without a message. Any other write error is a failure
//! with status 5.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::failure::{Failure, EXIT_FILE};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it.
pub fn print(text: &str) -> Result<(), Failure> {
    if closed() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::new(
            EXIT_FILE,
            format!("cannot write to stdout: {e}"),
        )),
    }
}

/// [`print`] and a newline.
pub fn println(text: &str) -> Result<(), Failure> {
    print(&format!("{text}\n"))
}

/// Whether the reader of stdout has gone away.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}
