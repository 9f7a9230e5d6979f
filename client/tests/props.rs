//! Property tests for the codec (PROTOCOL.md §3, §5), and a replay of the
//! fuzz corpus and its regressions through the fuzz targets' checks
//! (`plug_test_support::checks`), so a finding stays fixed without
//! cargo-fuzz.

use std::path::Path;

use plug::protocol::{encode_request, encode_result, parse_request, EnvelopeStyle, Routed};
use plug::Frame;
use plug_test_support::checks;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value: finite numbers, unicode strings, nested arrays and
/// objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(any::<String>(), json_value(), 0..12)
        .prop_map(|m| m.into_iter().collect())
}

/// Id texts as a client may send them: integers of any size and strings
/// with any characters, in the canonical form a JSON encoder writes.
fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{19,40}",
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("0".to_owned()),
        Just("null".to_owned()),
    ]
}

fn frames() -> impl Strategy<Value = Vec<Frame>> {
    let frame = prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 0..16),];
    prop::collection::vec(frame.prop_map(Frame::from), 0..6)
}

fn style() -> impl Strategy<Value = EnvelopeStyle> {
    prop_oneof![Just(EnvelopeStyle::Bare), Just(EnvelopeStyle::Delimited)]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // A failure is printed with its minimal input; no files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_object_round_trips_with_its_id(object in json_object(), id in any::<u64>()) {
        let wire = encode_request(object.clone(), Some(id));
        let request = parse_request(&[Frame::from(wire)]).unwrap();
        prop_assert_eq!(request.id.map(|i| i.json().to_owned()), Some(id.to_string()));
        let mut want = object;
        want.remove("id");
        prop_assert_eq!(request.object, want);
    }

    #[test]
    fn any_id_comes_back_byte_identical(id in id_text(), params in json_value()) {
        let body = format!(r#"{{"method":"echo","id":{id},"params":{params}}}"#);
        let request = parse_request(&[Frame::from(body)]).unwrap();
        let got = request.id.as_ref().expect("an id").json().to_owned();
        prop_assert_eq!(&got, &id);
        let reply = encode_result(request.id.as_ref(), false, request.params());
        let text = String::from_utf8(reply).unwrap();
        prop_assert_eq!(text, format!(r#"{{"id":{id},"result":{params}}}"#));
    }

    #[test]
    fn routed_split_then_wrap_is_the_message(frames in frames(), with_identity in any::<bool>()) {
        let routed = Routed::split(frames.clone(), with_identity);
        prop_assert_eq!(routed.envelope.wrap(routed.body.clone()), frames);
    }

    #[test]
    fn a_plug_request_reaches_the_server_and_its_reply_comes_back(
        identity in prop::collection::vec(any::<u8>(), 1..8),
        body in prop::collection::vec(any::<u8>(), 0..32),
        reply in prop::collection::vec(any::<u8>(), 0..32),
        style in style(),
    ) {
        // Plug wraps, the ROUTER adds the identity, the server splits.
        let mut wire = vec![Frame::from(identity.clone())];
        wire.extend(style.wrap(vec![Frame::from(body.clone())]));
        let routed = Routed::split(wire, true);
        prop_assert_eq!(&routed.body, &vec![Frame::from(body)]);
        prop_assert_eq!(routed.envelope.style(), style);
        prop_assert_eq!(routed.envelope.identity(), Some(&Frame::from(identity)));
        // The reply in the same envelope; the ROUTER strips the identity.
        let mut back = routed.envelope.into_reply([Frame::from(reply.clone())]);
        back.remove(0);
        prop_assert_eq!(style.unwrap(back), Ok(vec![Frame::from(reply)]));
    }

    #[test]
    fn plug_side_unwrap_undoes_wrap(body in frames(), style in style()) {
        // A plug always sends a body of at least one frame.
        prop_assume!(!body.is_empty());
        prop_assert_eq!(style.unwrap(style.wrap(body.clone())), Ok(body));
    }
}

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| check(&data));
            assert!(run.is_ok(), "{target}: {} fails", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn fuzz_corpus_and_regressions_replay_clean() {
    let counts = [
        (
            "server_request",
            replay("server_request", checks::server_request),
        ),
        ("client_reply", replay("client_reply", checks::client_reply)),
        ("config", replay("config", checks::config_text)),
    ];
    eprintln!("replayed: {counts:?}");
    for (target, n) in counts {
        assert!(n > 0, "no corpus for {target}");
    }
}
