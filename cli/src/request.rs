//! `plug request`: one JSON request, the whole reply.
//!
//! Two ways to send it: through an rpc plug, which writes its own `id`
//! (1, for a fresh plug) and matches the reply by it; or with `--keep-id`,
//! byte for byte as given over a raw plug, matching the reply by the given
//! id. Either way a reply with an id the plug did not send ends the command
//! at once, shown and named (PROTOCOL.md §5.2), instead of waiting for a
//! reply that will never match.

use std::collections::HashMap;

use plug::{Error, Message, MessageKind, Messages, Reply, RpcPlug};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::args::TargetArgs;
use crate::body;
use crate::commands::{nothing_within, open_raw, open_rpc, parse_json, print_json};
use crate::failure::{Failure, EXIT_PROTOCOL, EXIT_REMOTE, EXIT_TRANSPORT};
use crate::output;
use crate::render;
use crate::target::split_positionals;

/// The id an rpc plug gives the first request it sends.
const FIRST_ID: &str = "1";

pub async fn request(
    args: Vec<String>,
    target: TargetArgs,
    compact: bool,
    keep_id: bool,
    stats: bool,
) -> Result<(), Failure> {
    let (endpoint, json) = split_positionals(&target, args, "JSON", true)?;
    let text = body::read_text(&json.unwrap_or_default(), "request")?;
    let value = parse_json(&text)?;
    if keep_id {
        return request_keeping_id(text, target, endpoint).await;
    }
    if let Some(id) = value.get("id") {
        eprintln!(
            "note: the request's id {id} is replaced with the plug's own ({FIRST_ID}); \
             --keep-id sends it as given"
        );
    }
    let (plug, endpoints) = open_rpc(&target, endpoint)?;
    let mut inbox = plug.messages().expect("a new plug has its inbox");
    let outcome = call(&plug, &mut inbox, value, &mut Vec::new()).await;
    if stats {
        // One line, whatever the outcome: what a script or an operator reads.
        let line = serde_json::to_string(&plug.stats()).expect("counters serialize");
        eprintln!("{line}");
    }
    match outcome? {
        Ok(reply) => print_json(&reply.into_value(), compact),
        Err(Error::Remote { error, reply }) => {
            print_json(&reply.as_ref().clone().into_value(), compact)?;
            Err(Failure::new(
                EXIT_REMOTE,
                format!(
                    "the server answered with error {}: {}",
                    error.code, error.message
                ),
            ))
        }
        Err(e) => Err(Failure::from_plug(e, &endpoints)),
    }
}

/// Sends `request` on `plug` and waits for its outcome. A reply with an
/// id the plug did not send is printed and ends the wait with a protocol
/// failure (the outer `Err`); other messages that arrive meanwhile
/// (pushes) are kept in `others`, in order.
pub async fn call(
    plug: &RpcPlug,
    inbox: &mut Messages,
    request: Value,
    others: &mut Vec<Message>,
) -> Result<Result<Reply, Error>, Failure> {
    let reply = plug.request(request);
    tokio::pin!(reply);
    loop {
        tokio::select! {
            outcome = &mut reply => return Ok(outcome),
            Some(m) = inbox.recv() => match m.kind() {
                MessageKind::UnknownId(id) => {
                    let id = id.to_string();
                    show_as_received(&m)?;
                    return Err(unmatched(&id, FIRST_ID));
                }
                _ => others.push(m),
            },
        }
    }
}

/// `a reply arrived with id "1", but the request's id was 1: ...`, status 4.
fn unmatched(got: &str, sent: &str) -> Failure {
    Failure::new(
        EXIT_PROTOCOL,
        format!(
            "a reply arrived with id {got}, but the request's id was {sent}: a server must \
             copy the id into its reply unchanged, with the same JSON type and value \
             (PROTOCOL.md §5.2)"
        ),
    )
}

/// A message as the server sent it: its text on one line, or its frames
/// escaped when it is not one frame of UTF-8.
fn show_as_received(m: &Message) -> Result<(), Failure> {
    match (m.frames(), std::str::from_utf8(m.body())) {
        ([_], Ok(text)) => output::println(text.trim_end()),
        _ => output::print(&render::frames(m.frames(), false)),
    }
}

/// `--keep-id`: the body byte for byte over a raw plug; the reply is the
/// first message whose `id` is the request's.
async fn request_keeping_id(
    text: String,
    target: TargetArgs,
    endpoint: Option<plug::Endpoint>,
) -> Result<(), Failure> {
    let members: HashMap<String, Box<RawValue>> =
        serde_json::from_str(&text).map_err(|e| Failure::usage(e.to_string()))?;
    let Some(sent) = members.get("id") else {
        return Err(Failure::usage(
            "--keep-id needs an `id` in the request (one without is a notification, \
             which gets no reply)",
        ));
    };
    let (plug, endpoints, timeout) = open_raw(&target, endpoint)?;
    let mut inbox = plug.messages().expect("a new plug has its inbox");
    plug.send(text.into_bytes())
        .await
        .map_err(|e| Failure::from_plug(e, &endpoints))?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let m = match tokio::time::timeout_at(deadline, inbox.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(Failure::new(EXIT_TRANSPORT, "the plug closed")),
            Err(_) => return Err(nothing_within("reply", timeout, &endpoints)),
        };
        let object: Option<HashMap<String, Box<RawValue>>> = match m.frames() {
            [frame] => serde_json::from_slice(frame).ok(),
            _ => None,
        };
        let Some(got) = object.as_ref().and_then(|o| o.get("id")) else {
            tracing::info!("not a reply (no id, or not one JSON object); still waiting");
            continue;
        };
        show_as_received(&m)?;
        if !same_id(sent, got) {
            return Err(unmatched(got.get(), sent.get()));
        }
        return outcome(m.body());
    }
}

/// The status a reply to `--keep-id` ends with (PROTOCOL.md §5.3).
fn outcome(body: &[u8]) -> Result<(), Failure> {
    let reply: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (reply.get("result"), reply.get("error")) {
        (Some(_), None) => Ok(()),
        (None, Some(error)) => Err(Failure::new(
            EXIT_REMOTE,
            format!(
                "the server answered with error {}: {}",
                error.get("code").unwrap_or(&Value::Null),
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
            ),
        )),
        _ => Err(Failure::new(
            EXIT_PROTOCOL,
            "the reply has neither `result` nor `error`, or both (PROTOCOL.md §5.3)",
        )),
    }
}

/// Whether a reply's id is the request's: the same JSON text, or two
/// strings with the same characters (`"\u0041"` is `"A"`). Numbers must
/// match as written: a server that turns 18446744073709551615 or 1.50
/// into a float does not pass the id back unchanged.
fn same_id(sent: &RawValue, got: &RawValue) -> bool {
    if sent.get() == got.get() {
        return true;
    }
    matches!(
        (serde_json::from_str(sent.get()), serde_json::from_str(got.get())),
        (Ok(Value::String(a)), Ok(Value::String(b))) if a == b
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn ids_match_by_text_or_string_value() {
        assert!(same_id(
            &raw("18446744073709551615"),
            &raw("18446744073709551615")
        ));
        assert!(same_id(&raw(r#""\u0041""#), &raw(r#""A""#)));
        assert!(!same_id(&raw("1"), &raw(r#""1""#)));
        assert!(!same_id(&raw("1.50"), &raw("1.5")));
        assert!(!same_id(
            &raw("18446744073709551615"),
            &raw("18446744073709552000")
        ));
        assert!(!same_id(&raw("null"), &raw("0")));
    }
}
