//! [`Failure`]: why a command failed, as one line and an exit status.

use std::fmt::Display;
use std::path::Path;

use plug::Error;

/// The server answered with an error reply.
pub const EXIT_REMOTE: u8 = 1;
/// Bad usage: flags, JSON, an endpoint or a config file.
pub const EXIT_USAGE: u8 = 2;
/// No reply in time, or a transport failure.
pub const EXIT_TRANSPORT: u8 = 3;
/// The reply broke the protocol.
pub const EXIT_PROTOCOL: u8 = 4;
/// A file (or stdin, or stdout) could not be read or written.
pub const EXIT_FILE: u8 = 5;

/// What `plug --help` says about exit statuses; keep it next to the codes.
pub const EXIT_STATUSES: &str = "Exit status: 0 success; 1 the server answered with an error \
reply; 2 bad usage: flags, JSON, an endpoint or a config file; 3 no reply in time or a \
transport failure; 4 the reply broke the protocol (e.g. an id the plug did not send, \
PROTOCOL.md 5.2); 5 a file, stdin or stdout could not be read or written. A stdout closed \
early (`| head`) ends the output quietly and changes no status.";

/// Why the command failed: a one-line reason and an exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub reason: String,
}

impl Failure {
    pub fn new(code: u8, reason: impl Display) -> Failure {
        Failure {
            code,
            reason: reason.to_string(),
        }
    }

    pub fn usage(reason: impl Display) -> Failure {
        Failure::new(EXIT_USAGE, reason)
    }

    /// `cannot read PATH: why` (or write), status 5.
    pub fn file(verb: &str, path: &Path, e: impl Display) -> Failure {
        Failure::new(EXIT_FILE, format!("cannot {verb} {}: {e}", path.display()))
    }

    pub fn from_plug(e: Error, endpoints: &[String]) -> Failure {
        let code = match &e {
            Error::Remote { .. } => EXIT_REMOTE,
            Error::Protocol { .. } => EXIT_PROTOCOL,
            Error::Config(_) | Error::InvalidRequest(_) | Error::CurveUnavailable(_) => EXIT_USAGE,
            // A timeout, a transport failure, a busy or closed plug; an
            // error kind added to the library later lands here too.
            _ => EXIT_TRANSPORT,
        };
        let hint = if e.is_timeout() {
            format!(" (is a server running at {}?)", endpoints.join(", "))
        } else {
            String::new()
        };
        Failure::new(code, format!("{e}{hint}"))
    }
}
