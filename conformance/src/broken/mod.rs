//! Servers that break one rule on purpose, so every case family is seen
//! failing (`plug-broken-server --break RULE`). With `none` the server is a
//! correct rpc and raw echo server, built on `plug::protocol` like the
//! others.

mod server;

use std::fmt;
use std::str::FromStr;

pub use server::serve;

/// The rule a broken server breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Break {
    /// Breaks nothing.
    None,
    /// Numeric ids come back as strings (§5.2).
    IdAsString,
    /// Numeric ids go through a double, so 2^53+1 comes back as 2^53 (§5.2).
    IdViaFloat,
    /// Replies to delimited requests lose the delimiter (§3.3).
    DropDelimiter,
    /// Parse errors get no reply (§5.5).
    NoParseErrorReply,
    /// Notifications get a reply (§5.4).
    ReplyToNotifications,
    /// Replies carry both `result` and `error` (§5.3).
    ResultAndError,
    /// The process exits on a body that is not UTF-8 JSON (§8.1).
    CrashOnGarbage,
    /// The server stops serving on a body that is not UTF-8 (§8.1).
    HangOnGarbage,
    /// Each reply goes to the peer of the previous request (§2.5, §3.3).
    MixClients,
    /// One reply in 997 is dropped (§5.6).
    LoseReplies,
    /// `sleep` blocks the whole server (§5.6 SHOULD).
    BlockingSleep,
    /// `echo` replaces non-ASCII characters with `?` (§6.2).
    MangleEcho,
    /// Raw multipart messages come back with their frames reversed (§4.2).
    ReorderFrames,
    /// Raw frames over 512 KiB come back cut in half (§4.1).
    TruncateBig,
    /// Raw empty frames are dropped (§4.1).
    DropEmptyFrames,
    /// Raw NUL bytes are dropped and bytes over 0x7f become `?` (§4.1).
    MangleBytes,
    /// Every reply waits 2 ms (for `perf.*` thresholds).
    Slow,
    /// After this many messages the server stops answering for good.
    HangAfter(u64),
    /// After this many messages the process exits with status 3.
    CrashAfter(u64),
}

/// Every rule name with what it breaks, for `--help` and tests.
pub const RULES: &[(&str, &str)] = &[
    ("none", "nothing: a correct rpc/raw echo server"),
    ("id-as-string", "numeric ids come back as strings (5.2)"),
    ("id-via-float", "numeric ids pass through a double (5.2)"),
    ("drop-delimiter", "replies lose the delimiter frame (3.3)"),
    ("no-parse-error-reply", "parse errors get no reply (5.5)"),
    ("reply-to-notifications", "notifications get a reply (5.4)"),
    (
        "result-and-error",
        "replies carry both result and error (5.3)",
    ),
    (
        "crash-on-garbage",
        "exits on a body that is not UTF-8 JSON (8.1)",
    ),
    (
        "hang-on-garbage",
        "stops serving on a body that is not UTF-8 (8.1)",
    ),
    (
        "mix-clients",
        "each reply goes to the previous request's peer (2.5)",
    ),
    ("lose-replies", "one reply in 997 is dropped (5.6)"),
    ("blocking-sleep", "sleep blocks every other request (5.6)"),
    (
        "mangle-echo",
        "echo replaces non-ASCII characters with ? (6.2)",
    ),
    ("reorder-frames", "raw frames come back reversed (4.2)"),
    (
        "truncate-big",
        "raw frames over 512 KiB come back cut in half (4.1)",
    ),
    ("drop-empty-frames", "raw empty frames are dropped (4.1)"),
    (
        "mangle-bytes",
        "raw NUL bytes dropped, bytes over 0x7f become ? (4.1)",
    ),
    ("slow", "every reply waits 2 ms"),
    ("hang-after=N", "stops answering after N messages"),
    ("crash-after=N", "exits with status 3 after N messages"),
];

impl FromStr for Break {
    type Err = String;
    fn from_str(s: &str) -> Result<Break, String> {
        let count = |n: &str| n.parse::<u64>().map_err(|e| format!("`{s}`: {e}"));
        Ok(match s {
            "none" => Break::None,
            "id-as-string" => Break::IdAsString,
            "id-via-float" => Break::IdViaFloat,
            "drop-delimiter" => Break::DropDelimiter,
            "no-parse-error-reply" => Break::NoParseErrorReply,
            "reply-to-notifications" => Break::ReplyToNotifications,
            "result-and-error" => Break::ResultAndError,
            "crash-on-garbage" => Break::CrashOnGarbage,
            "hang-on-garbage" => Break::HangOnGarbage,
            "mix-clients" => Break::MixClients,
            "lose-replies" => Break::LoseReplies,
            "blocking-sleep" => Break::BlockingSleep,
            "mangle-echo" => Break::MangleEcho,
            "reorder-frames" => Break::ReorderFrames,
            "truncate-big" => Break::TruncateBig,
            "drop-empty-frames" => Break::DropEmptyFrames,
            "mangle-bytes" => Break::MangleBytes,
            "slow" => Break::Slow,
            other => {
                if let Some(n) = other.strip_prefix("hang-after=") {
                    Break::HangAfter(count(n)?)
                } else if let Some(n) = other.strip_prefix("crash-after=") {
                    Break::CrashAfter(count(n)?)
                } else {
                    let names: Vec<&str> = RULES.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "unknown rule `{other}`; one of: {}",
                        names.join(", ")
                    ));
                }
            }
        })
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::HangAfter(n) => write!(f, "hang-after={n}"),
            Break::CrashAfter(n) => write!(f, "crash-after={n}"),
            other => {
                let name = RULES
                    .iter()
                    .map(|(n, _)| *n)
                    .find(|n| n.parse::<Break>().ok() == Some(*other))
                    .unwrap_or("?");
                f.write_str(name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_round_trip() {
        for (name, _) in RULES {
            let name = name.replace("=N", "=5");
            let rule: Break = name.parse().unwrap();
            assert_eq!(rule.to_string(), name);
        }
        assert!("nope".parse::<Break>().is_err());
    }
}
