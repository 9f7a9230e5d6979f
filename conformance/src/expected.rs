//! The `--expected-failures` file: cases known to fail on this server.
//!
//! ```text
//! # one id or pattern per line; text after `#` is a comment
//! rpc.id.int-beyond-64-bits   # JSON library turns big integers into floats
//! rpc.echo.*
//! ```

use std::path::Path;

use crate::select::matches;

/// Patterns of cases expected to fail.
#[derive(Clone, Debug, Default)]
pub struct ExpectedFailures {
    patterns: Vec<String>,
}

impl ExpectedFailures {
    /// Reads the file.
    pub fn load(path: &Path) -> std::io::Result<ExpectedFailures> {
        Ok(ExpectedFailures::parse(&std::fs::read_to_string(path)?))
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> ExpectedFailures {
        let patterns = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        ExpectedFailures { patterns }
    }

    /// Whether the case `id` is expected to fail.
    pub fn contains(&self, id: &str) -> bool {
        self.patterns.iter().any(|p| matches(p, id))
    }

    /// The patterns, as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_patterns() {
        let x = ExpectedFailures::parse(
            "# header\n\nrpc.id.int-beyond-64-bits  # floats\nraw.size.*\n",
        );
        assert_eq!(x.patterns(), ["rpc.id.int-beyond-64-bits", "raw.size.*"]);
        assert!(x.contains("raw.size.64mib"));
        assert!(!x.contains("rpc.id.int-zero"));
    }
}
