//! The usual cause of a failure, in one line for the server's author: what
//! a JSON library or ZeroMQ binding typically did to produce what came back.

use crate::json::{show_units, IdValue};

/// The id came back as `got` where `sent` was sent (§5.2-a).
pub(crate) fn changed_id(sent_text: &str, sent: &IdValue, got_text: &str, got: &IdValue) -> String {
    use IdValue::*;
    match (sent, got) {
        (_, Null) => "the reply has \"id\": null: this path of the server does not copy the \
                      request's id (error replies and replies sent later are the usual places)"
            .into(),
        (
            Number {
                integer: true,
                value,
            },
            Number {
                integer: false,
                value: v,
            },
        ) if value == v => {
            format!(
                "the integer id {sent_text} came back as {got_text}: the JSON library read it as \
                 a floating-point number; copy the id's JSON text, or read integers exactly"
            )
        }
        (
            Number {
                integer: true,
                value,
            },
            Number { value: v, .. },
        ) if value.to_f64() == v.to_f64() => {
            format!(
                "the id went through a double and lost digits ({sent_text} -> {got_text}): \
                 JavaScript numbers, PHP floats beyond PHP_INT_MAX, and JSON libraries that read \
                 big integers as floats do this; copy the id's JSON text as it arrived"
            )
        }
        (Number { .. }, String(units))
            if show_units(units).trim_end_matches(".0") == sent_text
                || IdValue::parse(&show_units(units)).same_as(sent) =>
        {
            "the numeric id came back as a string: keep its JSON type (String(id), (string)$id, \
             id.to_s and str(id) change it)"
                .into()
        }
        (String(units), Number { .. }) if show_units(units) == got_text => {
            "a string id that looks like a number came back as a number: keep its JSON type \
             (loose typing, e.g. PHP's is_numeric or JavaScript's +id)"
                .into()
        }
        (String(s), String(g)) => string_hint(s, g),
        _ => "the reply's id is not the request's: copy the id unchanged, with its JSON type \
              (§5.2-a); if it is another peer's id, the reply went to the wrong peer (§3.3-a)"
            .into(),
    }
}

fn string_hint(sent: &[u16], got: &[u16]) -> String {
    let lone = |u: &u16| (0xd800..0xe000).contains(u);
    if sent.iter().any(lone) && got.contains(&0xfffd) {
        return "a lone surrogate was replaced by U+FFFD: return the id unchanged or answer \
                -32700 with id null (§5.2-c)"
            .into();
    }
    if got.len() < sent.len() && sent.starts_with(got) {
        let cut = sent.get(got.len()).copied();
        return if cut == Some(0) {
            "the string id was cut at a NUL character (\\u0000): a C string (strlen) was used; \
             keep the length"
                .into()
        } else {
            format!(
                "the string id was cut after {} UTF-16 units: a fixed-size buffer or a length \
                 limit",
                got.len()
            )
        };
    }
    if got.contains(&u16::from(b'?')) || got.contains(&0xfffd) {
        return "characters of the string id were replaced: the id was converted through a \
                non-UTF-8 charset; keep it as UTF-8 (or as its JSON text)"
            .into();
    }
    "the string id changed: copy it unchanged (escapes may differ, characters may not)".into()
}

/// The reply lost or gained the delimiter frame (§3.3-b).
pub(crate) fn delimiter(request_delimited: bool) -> String {
    if request_delimited {
        "the empty delimiter frame was dropped: reply with every frame before the body, not only \
         the identity (msg[:-1] + [reply] in Python keeps them)"
            .into()
    } else {
        "an empty delimiter frame was added to a bare request: reply with the envelope that \
         arrived, do not assume REQ-style [identity, \"\", body]"
            .into()
    }
}

pub(crate) const REP_SOCKET: &str = "looks like a REP socket: bare requests get nothing while \
     delimited ones are answered; bind a ROUTER socket (§2.1-b) and reply with the envelope each \
     request came with";

pub(crate) const RAW_ECHO: &str = "the reply is the request itself: this looks like a raw echo \
     server; check it with --profile raw";

pub(crate) const BATCH: &str = "a JSON-RPC 2.0 batch answer: plug has no batches; an array body \
     gets one -32600 error object with \"id\": null (§5.5-b)";

pub(crate) const NO_ID: &str =
    "a message with `result` or `error` but no `id`: a reply must carry \
     the request's id (error replies too), and a push carries neither (§7.1-b)";

pub(crate) const BOTH: &str = "`result` and `error` together: JSON-RPC 1.0 style replies carry \
     both with one of them null; send only the one that applies";

pub(crate) const NOT_UTF8: &str = "the reply is not UTF-8: encode the JSON text as UTF-8 (a \
     Latin-1 or platform-default charset, or CESU-8 surrogates, break it)";

pub(crate) const NOT_JSON: &str = "the reply is not valid JSON: build it with a JSON library, not \
     by pasting strings together (an id with quotes or backslashes breaks the latter)";

pub(crate) const SECOND_REPLY: &str = "a second reply to a request already answered: answer each \
     request exactly once (an acknowledgement followed by the result, or a retry after a send \
     that had in fact succeeded, does this)";

pub(crate) const NOTIFICATION_REPLY: &str = "a reply to a notification (a request with no `id`): \
     send nothing for it, even when it fails (§5.4-a); `\"id\": null` in the reply is the usual \
     sign of `reply['id'] = request.get('id')`";

pub(crate) const REQ_SILENT: &str = "a REQ socket drops a reply that does not start with the \
     empty delimiter frame (keep every envelope frame of the request, §3.3-b), and loses its \
     reply to a push that arrives first (never push to a REQ peer, §7.1-c)";

pub(crate) const HWM_DROP: &str = "replies were lost while the client was not reading: without \
     ZMQ_ROUTER_MANDATORY a ROUTER drops replies to a peer whose queue is full (§2.4); set it and \
     keep unsent replies in a queue per peer";

pub(crate) const BLOCKING_SEND: &str = "the server stopped serving everyone while one peer was \
     not reading: a blocking send (or a retry loop) on a full queue stalls the whole server; send \
     with ZMQ_DONTWAIT and keep unsent replies in a queue per peer (§2.4-b, §2.5-a)";

pub(crate) const CRASHED: &str = "the server exited: its last output is below";

pub(crate) const DROPPED_NOT_REFUSED: &str = "a message above the server's bound should get \
     -32001, not silence (a ZMQ_MAXMSGSIZE limit drops the message and the connection)";

pub(crate) const STOPPED: &str = "the server stopped answering after this case: a thread or \
     loop that died or blocks on this input (an exception in the receiving loop, a parse that \
     never returns) leaves every later request unanswered";

pub(crate) const WRONG_PEER: &str = "a reply went to the wrong peer: keep the envelope (identity \
     and delimiter) with each request until its reply is sent, never in one variable shared by \
     all requests (§3.3-a)";

pub(crate) const ROUTING_ID_TEXT: &str = "no reply to a client that chose its own binary routing \
     id: the identity frame was treated as text (decoded and re-encoded); keep it as bytes \
     (§3.3-a)";

pub(crate) const SHUTTING_DOWN: &str = "-32003 tells a plug that the request was not handled \
     and sends it to another endpoint: answer it only while the server shuts down; for a busy \
     server the code is -32002 (overloaded), and only above 16 requests in flight (§8.2)";

/// A code that is not the one the table of §5.5 gives.
pub(crate) fn wrong_code(want: i64, got: i64) -> String {
    let name = |c: i64| match c {
        -32700 => "parse error",
        -32600 => "invalid request",
        -32601 => "method not found",
        -32602 => "invalid params",
        -32603 => "internal error",
        -32001 => "too large",
        -32002 => "overloaded",
        -32003 => "shutting down",
        _ => "an application code",
    };
    format!(
        "{got} ({}) where §5.5 says {want} ({}): check the order of the checks (parse, then \
         object, then id, then method, then params)",
        name(got),
        name(want)
    )
}
