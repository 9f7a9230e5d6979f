//! Where a body argument comes from: the text itself, `-` (stdin) or
//! `@FILE`, as curl and grpcurl read them. A body too large for the
//! command line (over about 128 KiB) goes through stdin or a file.

use std::io::Read;
use std::path::Path;

use crate::failure::{Failure, EXIT_FILE};

/// The bytes of a body argument.
pub fn read(arg: &str) -> Result<Vec<u8>, Failure> {
    if arg == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::new(EXIT_FILE, format!("cannot read stdin: {e}")))?;
        return Ok(bytes);
    }
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| Failure::file("read", Path::new(path), e)),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

/// The text of a body argument, which must be UTF-8 (JSON is).
pub fn read_text(arg: &str, what: &str) -> Result<String, Failure> {
    String::from_utf8(read(arg)?).map_err(|e| {
        Failure::usage(format!(
            "the {what} is not UTF-8 (byte {} is not)",
            e.utf8_error().valid_up_to()
        ))
    })
}
