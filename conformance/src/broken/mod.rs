//! A server that breaks one rule on purpose, the way server authors in
//! other languages break it (`plug-broken-server --break RULE`), so every
//! case family is seen failing; and correct variants that use the freedoms
//! the spec gives (pushes, small bounds, a DEALER socket, one request at a
//! time), so they are seen passing. It shares no protocol code with the
//! kit's servers: requests are read with `serde_json` and replies written by
//! hand.
//!
//! Layout: [`Break`] and [`RULES`] (this file); `server` (the socket loop,
//! envelopes, per-peer queues, timers, pushes); `rpc` (requests to replies);
//! `raw` (echoes).

mod raw;
mod rpc;
mod server;

use std::fmt;
use std::str::FromStr;

pub use server::{serve, socket_type};

/// What a variant of the server does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Break {
    // Correct variants.
    None,
    Push,
    Bounds,
    Slow,
    Dealer,
    JsonRpc2,
    // Ids (§5.2).
    IdAsString,
    IdViaFloat,
    IdU64AsFloat,
    IdNumericStringToNumber,
    IdConcat,
    IdFalsyAsNotification,
    IdNullAsNotification,
    IdLoneSurrogateReplaced,
    IdTruncated,
    IdFractionTruncated,
    IdTextSearch,
    NulTruncate,
    ErrorIdNull,
    ErrorWithoutId,
    DeferredIdLost,
    Latin1Reply,
    Cesu8Reply,
    // Envelopes and peers (§3.3, §2.1).
    DropDelimiter,
    AddDelimiter,
    RepSocket,
    DeferredDropsDelimiter,
    RoutingIdAsText,
    DeferredToLastPeer,
    MixClients,
    FirstPeerOnly,
    PushToReq,
    // Reply shape (§5.3, §5.4).
    ResultAndError,
    JsonRpc1Style,
    ErrorCodeString,
    ErrorAsString,
    ErrorNoMessage,
    JsonRpcNotCopied,
    BatchArray,
    ReplyExtraFrame,
    SecondReply,
    ReplyToNotifications,
    NotificationErrorReplied,
    ReplyToNotificationsNoId,
    // Error replies (§5.5).
    NoParseErrorReply,
    AcceptTrailingData,
    AcceptNan,
    LenientJson,
    WrongCodes,
    MethodMissingAsUnknown,
    IdWrongTypeAccepted,
    MultiFrameLast,
    MultiFrameJoined,
    // Robustness (§8.1).
    CrashOnGarbage,
    HangOnGarbage,
    Utf8Replaced,
    Utf8WhereRead,
    CrashOnEmptyFrame,
    CrashOnDeepNesting,
    HangOnDeepNesting,
    HangOnBigId,
    CrashOnGoneLater,
    CrashOnHuge,
    // Limits and load (§8.2, §2.4, §5.6).
    EarlyOverload,
    SmallSizeLimit,
    OverloadWithoutId,
    RejectedAsShuttingDown,
    LoseReplies,
    NoRouterMandatory,
    DropAfter1s,
    BlockingSend,
    BlockingSleep,
    // Optional methods (§6).
    MangleEcho,
    PingWrong,
    SleepNoWait,
    SleepRepeats,
    SleepZeroRefused,
    SleepLenient,
    // Raw mode (§4).
    ReorderFrames,
    TruncateBig,
    DropEmptyFrames,
    MangleBytes,
    StripLeadingEmpty,
    MergeFrames,
    SplitFrames,
    FirstFrameOnly,
    RawText,
    EchoTwice,
    ReorderMessages,
    DropOver64k,
    // For tests of the harness itself.
    HangAfter(u64),
    CrashAfter(u64),
}

/// Every rule: name, what it does, and whether it is a correct variant.
pub const RULES: &[(&str, Break, &str)] = &[
    ("none", Break::None, "correct: a ROUTER rpc/raw echo server"),
    (
        "push",
        Break::Push,
        "correct: also pushes a message without id to each peer every 20 ms (7.1-a, 4.4-a)",
    ),
    (
        "bounds",
        Break::Bounds,
        "correct: -32001 above 64 KiB, -32002 above 16 in flight; raw drops above 1 MiB",
    ),
    (
        "slow",
        Break::Slow,
        "correct: one message at a time, 5 ms each (sleep does not block)",
    ),
    ("dealer", Break::Dealer, "correct: a DEALER socket (2.1-c)"),
    (
        "jsonrpc2",
        Break::JsonRpc2,
        "correct: JSON-RPC 2.0 style, jsonrpc in every reply, \\u escapes, error data",
    ),
    (
        "id-as-string",
        Break::IdAsString,
        "numeric ids come back as strings",
    ),
    (
        "id-via-float",
        Break::IdViaFloat,
        "ids go through a double, as in JavaScript",
    ),
    (
        "id-u64-as-float",
        Break::IdU64AsFloat,
        "ids beyond i64 become floats, as in PHP",
    ),
    (
        "id-numeric-string-to-number",
        Break::IdNumericStringToNumber,
        "string ids that look like numbers come back as numbers",
    ),
    (
        "id-concat",
        Break::IdConcat,
        "string ids pasted into the reply without escaping",
    ),
    (
        "id-falsy-as-notification",
        Break::IdFalsyAsNotification,
        "ids 0 and \"\" are taken for no id (if req.id)",
    ),
    (
        "id-null-as-notification",
        Break::IdNullAsNotification,
        "id null is taken for a notification",
    ),
    (
        "id-lone-surrogate-replaced",
        Break::IdLoneSurrogateReplaced,
        "lone surrogates in string ids become U+FFFD",
    ),
    (
        "id-truncated",
        Break::IdTruncated,
        "string ids are cut to 255 characters",
    ),
    (
        "id-fraction-truncated",
        Break::IdFractionTruncated,
        "a number id with a fraction or exponent comes back as its integer part (read as a long)",
    ),
    (
        "id-text-search",
        Break::IdTextSearch,
        "the id is found by searching the text for \"id\": (a regex), not by parsing the object",
    ),
    (
        "nul-truncate",
        Break::NulTruncate,
        "strings and raw frames are cut at NUL (C strings)",
    ),
    (
        "error-id-null",
        Break::ErrorIdNull,
        "error replies carry id null",
    ),
    (
        "error-without-id",
        Break::ErrorWithoutId,
        "error replies have no id member",
    ),
    (
        "deferred-id-lost",
        Break::DeferredIdLost,
        "replies sent later (sleep) carry id null",
    ),
    (
        "latin1-reply",
        Break::Latin1Reply,
        "replies are encoded in Latin-1, not UTF-8",
    ),
    (
        "cesu8-reply",
        Break::Cesu8Reply,
        "characters beyond the BMP are encoded as CESU-8 (Java's modified UTF-8)",
    ),
    (
        "drop-delimiter",
        Break::DropDelimiter,
        "replies lose the delimiter frame",
    ),
    (
        "add-delimiter",
        Break::AddDelimiter,
        "replies always start with a delimiter frame",
    ),
    (
        "rep-socket",
        Break::RepSocket,
        "a REP socket, as in the tutorials",
    ),
    (
        "deferred-drops-delimiter",
        Break::DeferredDropsDelimiter,
        "replies sent later keep only the identity",
    ),
    (
        "routing-id-as-text",
        Break::RoutingIdAsText,
        "the identity frame goes through a UTF-8 string",
    ),
    (
        "deferred-to-last-peer",
        Break::DeferredToLastPeer,
        "replies sent later go to the last peer that sent something",
    ),
    (
        "mix-clients",
        Break::MixClients,
        "each reply goes to the previous message's peer",
    ),
    (
        "first-peer-only",
        Break::FirstPeerOnly,
        "every reply goes to the first peer ever seen",
    ),
    (
        "push-to-req",
        Break::PushToReq,
        "pushes go to every peer, REQ clients included (7.1-c)",
    ),
    (
        "result-and-error",
        Break::ResultAndError,
        "replies carry both result and error",
    ),
    (
        "jsonrpc1-style",
        Break::JsonRpc1Style,
        "JSON-RPC 1.0 replies: result and error, one of them null",
    ),
    (
        "error-code-string",
        Break::ErrorCodeString,
        "error codes are strings",
    ),
    (
        "error-as-string",
        Break::ErrorAsString,
        "error is a string, not an object",
    ),
    (
        "error-no-message",
        Break::ErrorNoMessage,
        "error objects have no message",
    ),
    (
        "jsonrpc-not-copied",
        Break::JsonRpcNotCopied,
        "\"jsonrpc\": \"2.0\" is not copied (a SHOULD)",
    ),
    (
        "batch-array",
        Break::BatchArray,
        "arrays are JSON-RPC 2.0 batches, answered with arrays",
    ),
    (
        "reply-extra-frame",
        Break::ReplyExtraFrame,
        "replies end with an extra empty frame",
    ),
    (
        "second-reply",
        Break::SecondReply,
        "error replies are sent twice",
    ),
    (
        "reply-to-notifications",
        Break::ReplyToNotifications,
        "notifications get a reply with id null",
    ),
    (
        "notification-error-replied",
        Break::NotificationErrorReplied,
        "failing notifications get an error reply",
    ),
    (
        "reply-to-notifications-no-id",
        Break::ReplyToNotificationsNoId,
        "notifications get a reply without id",
    ),
    (
        "no-parse-error-reply",
        Break::NoParseErrorReply,
        "parse errors get no reply",
    ),
    (
        "accept-trailing-data",
        Break::AcceptTrailingData,
        "data after the JSON object is ignored (Jackson's default)",
    ),
    (
        "accept-nan",
        Break::AcceptNan,
        "NaN and Infinity are accepted (Python's json.loads)",
    ),
    (
        "lenient-json",
        Break::LenientJson,
        "single quotes, comments and trailing commas are accepted (JSON5)",
    ),
    ("wrong-codes", Break::WrongCodes, "every error is -32700"),
    (
        "method-missing-as-unknown",
        Break::MethodMissingAsUnknown,
        "a missing or non-string method gets -32601",
    ),
    (
        "id-wrong-type-accepted",
        Break::IdWrongTypeAccepted,
        "boolean, object and array ids are answered",
    ),
    (
        "multi-frame-last",
        Break::MultiFrameLast,
        "a multi-frame body is read as its last frame (msg[-1])",
    ),
    (
        "multi-frame-joined",
        Break::MultiFrameJoined,
        "a multi-frame body is read as its frames joined",
    ),
    (
        "crash-on-garbage",
        Break::CrashOnGarbage,
        "exits on a body that is not UTF-8",
    ),
    (
        "hang-on-garbage",
        Break::HangOnGarbage,
        "stops serving on a body that is not UTF-8",
    ),
    (
        "utf8-replaced",
        Break::Utf8Replaced,
        "decodes the body with replacement characters (invalid UTF-8 goes unnoticed)",
    ),
    (
        "utf8-where-read",
        Break::Utf8WhereRead,
        "checks UTF-8 only in the id, method and params it reads",
    ),
    (
        "crash-on-empty-frame",
        Break::CrashOnEmptyFrame,
        "exits on an empty body frame",
    ),
    (
        "crash-on-deep-nesting",
        Break::CrashOnDeepNesting,
        "exits on JSON nested over 1000 deep (RecursionError)",
    ),
    (
        "hang-on-deep-nesting",
        Break::HangOnDeepNesting,
        "stops serving on JSON nested over 1000 deep",
    ),
    (
        "hang-on-big-id",
        Break::HangOnBigId,
        "stops serving on an integer id beyond 64 bits (its parse kills the receiving loop)",
    ),
    (
        "crash-on-gone-later",
        Break::CrashOnGoneLater,
        "exits when a reply sent later (`sleep`) finds its peer gone (EHOSTUNREACH not caught)",
    ),
    (
        "crash-on-huge",
        Break::CrashOnHuge,
        "exits on a message over 8 MiB",
    ),
    (
        "early-overload",
        Break::EarlyOverload,
        "-32002 with more than 4 in flight (below the floor of 16)",
    ),
    (
        "small-size-limit",
        Break::SmallSizeLimit,
        "-32001 above 16 KiB (below the floor of 64 KiB)",
    ),
    (
        "overload-without-id",
        Break::OverloadWithoutId,
        "-32002 above 16 in flight, with id null",
    ),
    (
        "rejected-as-shutting-down",
        Break::RejectedAsShuttingDown,
        "-32003 (shutting down) above 16 in flight, as a Java pool's rejection maps it",
    ),
    (
        "lose-replies",
        Break::LoseReplies,
        "one reply in 997 is dropped",
    ),
    (
        "no-router-mandatory",
        Break::NoRouterMandatory,
        "no ZMQ_ROUTER_MANDATORY: replies dropped at the high-water mark",
    ),
    (
        "drop-after-1s",
        Break::DropAfter1s,
        "a reply whose peer's queue stays full for 1 s is dropped (a send timeout below the 5 s \
         of §2.4-b)",
    ),
    (
        "blocking-send",
        Break::BlockingSend,
        "a blocking send: a peer that does not read stalls everyone",
    ),
    (
        "blocking-sleep",
        Break::BlockingSleep,
        "sleep blocks every other request",
    ),
    (
        "mangle-echo",
        Break::MangleEcho,
        "echo replaces non-ASCII characters with ?",
    ),
    ("ping-wrong", Break::PingWrong, "ping answers \"PONG\""),
    ("sleep-no-wait", Break::SleepNoWait, "sleep answers at once"),
    (
        "sleep-repeats",
        Break::SleepRepeats,
        "a reply sent later goes out twice, n ms apart (setInterval where setTimeout was meant)",
    ),
    (
        "sleep-zero-refused",
        Break::SleepZeroRefused,
        "sleep {\"ms\": 0} gets -32602 (a range that starts at 1)",
    ),
    (
        "sleep-lenient",
        Break::SleepLenient,
        "sleep accepts any ms, strings and fractions included",
    ),
    (
        "reorder-frames",
        Break::ReorderFrames,
        "raw frames come back reversed",
    ),
    (
        "truncate-big",
        Break::TruncateBig,
        "raw frames over 512 KiB come back cut in half",
    ),
    (
        "drop-empty-frames",
        Break::DropEmptyFrames,
        "raw empty frames are dropped",
    ),
    (
        "mangle-bytes",
        Break::MangleBytes,
        "raw NUL bytes dropped, bytes over 0x7f become ?",
    ),
    (
        "strip-leading-empty",
        Break::StripLeadingEmpty,
        "every leading empty frame is taken for envelope",
    ),
    (
        "merge-frames",
        Break::MergeFrames,
        "raw frames are joined into one",
    ),
    (
        "split-frames",
        Break::SplitFrames,
        "raw frames come back as messages of their own",
    ),
    (
        "first-frame-only",
        Break::FirstFrameOnly,
        "only the first raw frame is echoed (recv, not recv_multipart)",
    ),
    (
        "raw-text",
        Break::RawText,
        "raw frames go through a lossy UTF-8 string",
    ),
    (
        "echo-twice",
        Break::EchoTwice,
        "raw messages are echoed twice",
    ),
    (
        "reorder-messages",
        Break::ReorderMessages,
        "raw messages of a peer come back in pairs swapped",
    ),
    (
        "drop-over-64k",
        Break::DropOver64k,
        "raw messages over 64 KiB are dropped (below the floor of 1 MiB)",
    ),
    (
        "hang-after=N",
        Break::HangAfter(0),
        "stops answering after N messages",
    ),
    (
        "crash-after=N",
        Break::CrashAfter(0),
        "exits with status 3 after N messages",
    ),
];

impl Break {
    /// Whether this variant is correct: it must pass with `--strict`.
    pub fn is_correct(self) -> bool {
        matches!(
            self,
            Break::None
                | Break::Push
                | Break::Bounds
                | Break::Slow
                | Break::Dealer
                | Break::JsonRpc2
        )
    }
}

impl FromStr for Break {
    type Err = String;
    fn from_str(s: &str) -> Result<Break, String> {
        let count = |n: &str| n.parse::<u64>().map_err(|e| format!("`{s}`: {e}"));
        if let Some(n) = s.strip_prefix("hang-after=") {
            return Ok(Break::HangAfter(count(n)?));
        }
        if let Some(n) = s.strip_prefix("crash-after=") {
            return Ok(Break::CrashAfter(count(n)?));
        }
        RULES
            .iter()
            .find(|(name, _, _)| *name == s && !name.ends_with("=N"))
            .map(|(_, b, _)| *b)
            .ok_or_else(|| {
                let names: Vec<&str> = RULES.iter().map(|(n, _, _)| *n).collect();
                format!("unknown rule `{s}`; one of: {}", names.join(", "))
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
                    .find(|(_, b, _)| b == other)
                    .map_or("?", |(n, _, _)| *n);
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
        for (name, _, _) in RULES {
            let name = name.replace("=N", "=5");
            let rule: Break = name.parse().unwrap();
            assert_eq!(rule.to_string(), name);
        }
        assert!("nope".parse::<Break>().is_err());
        let breaks = RULES.iter().filter(|(_, b, _)| !b.is_correct()).count();
        assert!(breaks >= 40, "{breaks} break modes");
    }
}
