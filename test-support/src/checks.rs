//! What the fuzz targets check, one function per target. Each takes the
//! fuzzer's bytes, runs them through the code under test and panics on a
//! crash or a broken invariant.
//!
//! The fuzz targets (`fuzz/fuzz_targets/`) call these, and the same
//! functions replay the stored corpus in the normal test suite
//! (`client/tests/props.rs`), so a finding stays fixed without cargo-fuzz.
//!
//! Input layout for the message targets: the first byte holds flags, the
//! rest is split into frames at each 0x1E byte (a byte that valid JSON text
//! never contains outside a string escape), e.g. `\x01id\x1e{"id":1}`.

use std::collections::HashMap;

use plug::protocol::{
    codes, encode_error, encode_request, encode_result, parse_request, EnvelopeStyle, ErrorObject,
    ReplyBody, Routed,
};
use plug::{Config, Frame};
use serde_json::value::RawValue;
use serde_json::Value;

/// The map key serde_json gives a meaning of its own (raw values).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Splits fuzzer bytes into a flags byte and frames.
pub fn frames_of(data: &[u8]) -> (u8, Vec<Frame>) {
    let Some((&flags, rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let frames = rest.split(|b| *b == 0x1E).map(Frame::from).collect();
    (flags, frames)
}

/// The id's JSON text in an encoded reply.
fn reply_id_text(reply: &[u8]) -> String {
    let members: HashMap<String, &RawValue> =
        serde_json::from_slice(reply).expect("an encoded reply is a JSON object");
    members
        .get("id")
        .expect("a reply has an id")
        .get()
        .to_owned()
}

/// The server side: a ROUTER message split into envelope and body, the body
/// read as a request, and the replies built for it.
pub fn server_request(data: &[u8]) {
    let (flags, frames) = frames_of(data);
    let with_identity = flags & 1 == 1;
    let routed = Routed::split(frames.clone(), with_identity);
    let env = routed.envelope.frames().len();
    assert_eq!(
        routed.envelope.wrap(routed.body.clone()),
        frames,
        "envelope + body must be the message"
    );
    if with_identity && !frames.is_empty() {
        assert_eq!(routed.envelope.identity(), Some(&frames[0]));
    } else {
        assert_eq!(routed.envelope.identity(), None);
    }
    if routed.envelope.style() == EnvelopeStyle::Delimited {
        assert!(routed.envelope.frames()[env - 1].is_empty());
        assert!(!routed.body.is_empty(), "a delimiter is followed by a body");
    }

    let error_reply = |id, e: &ErrorObject| {
        let reply = encode_error(id, false, e);
        let body = ReplyBody::parse(&reply).expect("an error reply is a JSON object");
        let got = body.outcome().expect("an error reply has one outcome");
        assert_eq!(got.unwrap_err().code, e.code);
        reply
    };
    // A one-frame body as a general JSON reader reads it: `None` when it is
    // not JSON, else whether it is an object. The request reader agrees.
    let general = match &routed.body[..] {
        [frame] => Some(
            serde_json::from_slice::<&RawValue>(frame)
                .ok()
                .map(|raw| raw.get().starts_with('{')),
        ),
        _ => None,
    };
    match parse_request(&routed.body) {
        Ok(request) => {
            assert_eq!(
                general,
                Some(Some(true)),
                "a request read is one JSON object"
            );
            let _ = request.method();
            let jsonrpc = request.is_jsonrpc();
            let params = request.params().clone();
            let reply = encode_result(request.id(), jsonrpc, &params);
            let want = request.id().map_or("null", |id| id.json());
            assert_eq!(reply_id_text(&reply), want, "the id comes back as its text");
            // An id beyond what a JSON library's numbers hold (1e400) comes
            // back as it came (5.2-b), and a reply reader that reads the
            // whole reply as values refuses it; such an id is never a plug's.
            let id_reads = serde_json::from_str::<Value>(want).is_ok();
            if id_reads {
                let body = ReplyBody::parse(&reply).expect("a result reply is a JSON object");
                assert_eq!(body.outcome().expect("one outcome").unwrap(), &params);
                let e = ErrorObject::overloaded(1024);
                let reply = error_reply(request.id(), &e);
                assert_eq!(reply_id_text(&reply), want);
            }
        }
        Err(e) => {
            assert!(
                e.code == codes::PARSE_ERROR || e.code == codes::INVALID_REQUEST,
                "{e}"
            );
            if let Some(json) = general {
                assert_eq!(e.code == codes::PARSE_ERROR, json.is_none(), "{e}");
            }
            error_reply(None, &e);
        }
    }
}

/// The client side: a message received by a plug, its envelope removed, its
/// body read as a reply; and any JSON object sent as a request.
pub fn client_reply(data: &[u8]) {
    let (flags, frames) = frames_of(data);
    let style = if flags & 1 == 1 {
        EnvelopeStyle::Delimited
    } else {
        EnvelopeStyle::Bare
    };
    let body = match style.unwrap(frames.clone()) {
        Ok(body) => {
            assert_eq!(style.wrap(body.clone()), frames, "unwrap then wrap");
            body
        }
        Err(back) => {
            assert_eq!(back, frames, "a refused message comes back whole");
            return;
        }
    };
    let [frame] = &body[..] else { return };
    // A reply is read exactly when a general JSON reader reads the body as
    // an object (but for the key serde_json keeps for itself), with the
    // same members in the same order.
    let full = serde_json::from_slice::<serde_json::Map<String, Value>>(frame);
    let reply = match ReplyBody::parse(frame) {
        Ok(reply) => reply,
        Err(e) => {
            let _ = e.to_string();
            assert!(
                full.is_err() || full.is_ok_and(|m| m.contains_key(RAW_VALUE_TOKEN)),
                "refused, yet a JSON object: {e}"
            );
            return;
        }
    };
    let full = full.expect("a reply read is a JSON object");
    assert_eq!(reply.object(), &full);
    assert!(reply.object().keys().eq(full.keys()), "member order");
    // The id: its exact text, as the object's `id` member, and the plug's
    // counter value only for a plain integer.
    match reply.id() {
        Some(id) => {
            let text = std::str::from_utf8(frame).expect("a parsed reply is UTF-8");
            assert!(text.contains(id.json()), "the id's text is in the reply");
            let member: Value = serde_json::from_str(id.json()).expect("an id is JSON");
            assert_eq!(reply.object().get("id"), Some(&member));
            if let Some(n) = reply.counter_id() {
                assert_eq!(id.json(), n.to_string());
            }
        }
        None => {
            assert!(!reply.object().contains_key("id"));
            assert_eq!(reply.counter_id(), None);
        }
    }
    let has = |k| reply.object().contains_key(k);
    match reply.outcome() {
        Ok(Ok(result)) => assert_eq!(reply.object().get("result"), Some(result)),
        Ok(Err(error)) => {
            assert!(has("error") && !has("result"));
            let _ = error.to_string();
        }
        Err(e) => {
            assert!(has("result") == has("error") || has("error"), "{e}");
        }
    }

    // The same object sent as a request comes back through the server's
    // parser with the plug's id and every other member unchanged.
    let mut object = reply.into_object();
    let id = u64::from(flags) << 32 | 7;
    let wire = encode_request(object.clone(), Some(id));
    let request = parse_request(&[Frame::from(wire)]).expect("an encoded request parses");
    assert_eq!(
        request.id().map(|i| i.json().to_owned()),
        Some(id.to_string())
    );
    object.remove("id");
    assert_eq!(request.object(), &object);
}

/// The configuration parser on any text.
pub fn config_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_toml(text) {
        Ok(config) => {
            for (name, plug) in &config.plugs {
                assert_eq!(&plug.name, name);
                assert!(!plug.connect_to.is_empty());
                assert!(!plug.timeout.is_zero());
                assert!(plug.max_in_flight > 0 && plug.inbox_capacity > 0);
                assert!(plug.high_water_mark >= 0);
                assert!(config.plug(name).is_ok());
            }
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
}
