//! `rpc.error.*`: bad requests get the error replies of §5.5, each one
//! object with the right id and code, in every envelope.

use super::case;
use crate::case::{Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::json::IdValue;
use crate::rpc::{
    check_code, Request, RpcConn, Style, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR,
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.error.parse-error",
            Rpc,
            Must,
            &["5.5-a", "5.3-a", "5.3-d"],
            "a body that is not JSON (cut short, a trailing comma, blank) gets id null and -32700",
            |c| bad_bodies(c, PARSE_ERROR, PARSE_BROKEN, None),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.parse-trailing-data",
            Rpc,
            Must,
            &["5.5-a", "5.3-d"],
            "a JSON object followed by more data (text, a second object, a NUL) gets -32700",
            |c| bad_bodies(c, PARSE_ERROR, PARSE_TRAILING, Some(TRAILING_HINT)),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.parse-non-json",
            Rpc,
            Must,
            &["5.5-a", "5.3-d"],
            "NaN, Infinity, single quotes, bare keys, leading zeros, raw tabs get -32700",
            |c| bad_bodies(c, PARSE_ERROR, PARSE_EXTENSIONS, Some(EXTENSION_HINT)),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.parse-comments",
            Rpc,
            Must,
            &["5.5-a", "5.3-d"],
            "JSON with comments (/* */, //) is not JSON: -32700",
            |c| bad_bodies(c, PARSE_ERROR, PARSE_COMMENTS, Some(COMMENT_HINT)),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.whitespace-ok",
            Rpc,
            Must,
            &["5.3-d", "5.5-a"],
            "whitespace around the object is valid JSON: the request is answered normally",
            whitespace,
        )
        .on(&[Success, Bare]),
        case(
            "rpc.error.not-an-object",
            Rpc,
            Must,
            &["5.5-b", "5.3-a", "5.3-d"],
            "JSON that is not an object (array, number, string, null, boolean) gets id null and -32600",
            |c| bad_bodies(c, INVALID_REQUEST, NOT_OBJECTS, None),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.batch",
            Rpc,
            Must,
            &["5.5-b", "5.3-a", "5.3-d"],
            "a JSON-RPC 2.0 batch (an array of requests) gets one -32600 object with id null",
            |c| bad_bodies(c, INVALID_REQUEST, BATCHES, None),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.id-wrong-type",
            Rpc,
            Must,
            &["5.5-c", "5.3-d"],
            "an id that is a boolean, object or array gets id null and -32600",
            |c| bad_bodies(c, INVALID_REQUEST, BAD_IDS, Some(BAD_ID_HINT)),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.multi-frame-body",
            Rpc,
            Must,
            &["5.5-d", "3.3-b", "5.3-d"],
            "a body of more than one frame gets id null and -32600, bare and delimited (an empty \
             frame after the delimiter included)",
            multi_frame,
        )
        .on(&[Error, Bare, Delimited]),
        case(
            "rpc.error.method-missing",
            Rpc,
            Must,
            &["5.5-e", "5.2-a", "5.3-d"],
            "a request with an id and no `method` gets -32600 with its id",
            |c| with_id(c, INVALID_REQUEST, METHOD_MISSING),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.method-not-string",
            Rpc,
            Must,
            &["5.5-e", "5.2-a", "5.3-d"],
            "a `method` that is not a string gets -32600 with the request's id",
            |c| with_id(c, INVALID_REQUEST, METHOD_NOT_STRING),
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.unknown-method",
            Rpc,
            Must,
            &["5.5-f", "5.2-a", "5.3-d"],
            "an unknown method gets -32601 with the request's id",
            |c| {
                with_id(
                    c,
                    METHOD_NOT_FOUND,
                    &[
                        (br#"{"id":99,"method":"plug.conformance.no-such-method"}"#, "99"),
                        (br#"{"id":"x","method":"","params":[1]}"#, r#""x""#),
                    ],
                )
            },
        )
        .on(&[Error, Bare]),
        case(
            "rpc.error.on-delimited",
            Rpc,
            Must,
            &["5.5-a", "5.5-b", "5.5-e", "5.5-f", "3.3-b", "5.3-d"],
            "a delimited client gets every error reply in its envelope",
            |c| every_error(c, RpcConn::dealer(c, "A", Style::Delimited)?),
        )
        .on(&[Error, Delimited]),
        case(
            "rpc.error.on-req",
            Rpc,
            Must,
            &["5.5-a", "5.5-b", "5.5-e", "5.5-f", "3.3-b", "5.3-d", "7.1-c"],
            "a REQ socket gets every error reply",
            |c| every_error(c, RpcConn::req(c, "REQ")?),
        )
        .on(&[Error, Req])
        .req(),
    ]
}

const PARSE_BROKEN: &[&[u8]] = &[
    br#"{"id":1,"method":"ping""#,
    b"{nope}",
    b"   ",
    br#"{"id":1,"method":"ping",}"#,
    br#"{"id":1 "method":"ping"}"#,
];

const PARSE_TRAILING: &[&[u8]] = &[
    br#"{"id":1,"method":"ping"} x"#,
    br#"{"id":2,"method":"ping"}{"id":3,"method":"ping"}"#,
    br#"{"id":4,"method":"ping"}]"#,
    b"{\"id\":5,\"method\":\"ping\"}\x00",
];

const TRAILING_HINT: &str = "the JSON parser accepted data after the object: parse the whole \
     body as one JSON text (Jackson: enable FAIL_ON_TRAILING_TOKENS; a C parser: check that \
     nothing but whitespace follows)";

const PARSE_EXTENSIONS: &[&[u8]] = &[
    br#"{"id":1,"method":"echo","params":NaN}"#,
    br#"{"id":2,"method":"echo","params":[Infinity,-Infinity]}"#,
    br#"{'id':3,'method':'ping'}"#,
    br#"{id:6,method:"ping"}"#,
    br#"{"id":07,"method":"ping"}"#,
    b"{\"id\":8,\"method\":\"ping\",\"params\":\"a\tb\"}",
    br#"{"id":9,"method":"ping","params":[1,]}"#,
    br#"{"id":0x10,"method":"ping"}"#,
];

const EXTENSION_HINT: &str = "the JSON parser accepts something JSON (RFC 8259) does not: NaN \
     and Infinity (Python's json.loads does: pass parse_constant to refuse them), single quotes, \
     bare keys, leading zeros, trailing commas or raw control characters; use a strict parser";

const PARSE_COMMENTS: &[&[u8]] = &[
    br#"{"id":4,/* comment */"method":"ping"}"#,
    b"{\"id\":5,\"method\":\"ping\"} // comment",
    b"{\"id\":6,\n// comment\n\"method\":\"ping\"}",
];

const COMMENT_HINT: &str = "the JSON parser skips comments, which JSON (RFC 8259) does not have: \
     Ruby's JSON.parse ignores /* */ and // comments, as do JSON5 and Jackson with \
     ALLOW_COMMENTS; refuse them (-32700)";

const NOT_OBJECTS: &[&[u8]] = &[b"[1,2,3]", b"42", br#""ping""#, b"null", b"true", b"[]"];

const BATCHES: &[&[u8]] = &[
    br#"[{"id":1,"method":"ping"},{"id":2,"method":"ping"}]"#,
    br#"[{"jsonrpc":"2.0","id":3,"method":"ping"}]"#,
];

const BAD_IDS: &[&[u8]] = &[
    br#"{"id":true,"method":"ping"}"#,
    br#"{"id":false,"method":"ping"}"#,
    br#"{"id":{"n":1},"method":"ping"}"#,
    br#"{"id":[1],"method":"ping"}"#,
];

const BAD_ID_HINT: &str = "an id of the wrong type was accepted or echoed: only a number, a \
     string or null is an id; answer the others with -32600 and id null (§5.5-c)";

const METHOD_MISSING: &[(&[u8], &str)] = &[
    (br#"{"id":3}"#, "3"),
    (br#"{"id":4,"params":[1]}"#, "4"),
    (br#"{"jsonrpc":"2.0","id":"m"}"#, r#""m""#),
];

const METHOD_NOT_STRING: &[(&[u8], &str)] = &[
    (br#"{"id":5,"method":5}"#, "5"),
    (br#"{"id":6,"method":null}"#, "6"),
    (br#"{"id":7,"method":["ping"]}"#, "7"),
    (br#"{"id":8,"method":{"name":"ping"}}"#, "8"),
    (br#"{"id":9,"method":true}"#, "9"),
];

/// Each body gets one error with `"id": null` and `code`.
fn bad_bodies(ctx: &Ctx, code: i64, bodies: &[&[u8]], hint: Option<&str>) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for body in bodies {
        let checked = conn
            .call(&Request::null_id(*body))
            .and_then(|reply| check_code(&reply, code, "§5.5"));
        if let (Err(v), Some(h)) = (&checked, hint) {
            return Err(v.clone().replace_hint(h));
        }
        checked?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// Each body gets one error with its own id and `code`.
fn with_id(ctx: &Ctx, code: i64, bodies: &[(&[u8], &str)]) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for (body, id) in bodies {
        let reply = conn.call(&Request::text(*body, id))?;
        check_code(&reply, code, "§5.5")?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn whitespace(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for (body, id) in [
        (&b" \t\r\n{\"id\":1,\"method\":\"ping\"}"[..], "1"),
        (&b"{\"id\":2,\"method\":\"ping\"}\r\n \t"[..], "2"),
        (&b"{ \"id\" : 3 , \"method\" : \"ping\" }"[..], "3"),
    ] {
        let reply = conn.call(&Request::text(body, id))?;
        if reply.code() == Some(PARSE_ERROR) {
            return Err(crate::case::fail(
                "whitespace around and inside the object accepted (RFC 8259)",
                format!("-32700: {}", reply.short()),
            ));
        }
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn multi_frame(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let ping = br#"{"id":1,"method":"ping"}"#.to_vec();
    for frames in [
        vec![ping.clone(), ping.clone()],
        vec![ping.clone(), Vec::new()],
        vec![b"{\"id\":2,".to_vec(), b"\"method\":\"ping\"}".to_vec()],
    ] {
        let reply = conn.call(&Request::frames(frames)).map_err(|v| {
            v.hint(
                "a body of several frames was read as one (its first or last frame): answer \
                 -32600 with id null (§5.5-d); msg[-1] in Python reads only the last frame",
            )
        })?;
        check_code(&reply, INVALID_REQUEST, "§5.5-d")?;
    }
    conn.set_style(Style::Delimited);
    let reply = conn.call(&Request::frames(vec![ping.clone(), b"x".to_vec()]))?;
    check_code(&reply, INVALID_REQUEST, "§5.5-d")?;
    // On the wire ["", "", ping]: one delimiter (§3.4-a), then a body of two
    // frames, the first of them empty.
    let second_empty = |v: Verdict| {
        v.replace_hint(
            "only the first empty frame is a delimiter (§3.4-a); an empty frame after it is part \
             of the body, which then has two frames: answer -32600 with id null in the envelope \
             [identity, \"\"] (§5.5-d, §3.3-b)",
        )
    };
    let reply = conn
        .call(&Request::frames(vec![Vec::new(), ping]))
        .map_err(second_empty)?;
    check_code(&reply, INVALID_REQUEST, "§5.5-d").map_err(second_empty)?;
    conn.set_style(Style::Bare);
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// Parse error, not an object, bad id, no method, unknown method.
fn every_error(ctx: &Ctx, conn: RpcConn) -> Step<Verdict> {
    let _ = ctx;
    let checks: [(Request, i64); 5] = [
        (Request::null_id(&b"{nope"[..]), PARSE_ERROR),
        (Request::null_id(&b"[1]"[..]), INVALID_REQUEST),
        (
            Request::null_id(&br#"{"id":true,"method":"ping"}"#[..]),
            INVALID_REQUEST,
        ),
        (
            Request::text(&br#"{"id":"m"}"#[..], r#""m""#),
            INVALID_REQUEST,
        ),
        (
            Request::call("\"u\"", "plug.conformance.no-such-method"),
            METHOD_NOT_FOUND,
        ),
    ];
    for (req, code) in checks {
        let reply = conn.call(&req)?;
        check_code(&reply, code, "§5.5")?;
        debug_assert!(reply.id.is_valid() || reply.id == IdValue::Null);
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}
