//! `raw.bytes.*`, `raw.frames.*`, `raw.envelope.*`: a raw echo server sends
//! every message back frame for frame and byte for byte (§4), in every
//! envelope (§3.3).

use super::case;
use super::rpc_id::ROUTING_ID;
use crate::case::{Case, Ctx, Path::*, Profile::Raw, Requirement::*, Step, Verdict};
use crate::conn::Options;
use crate::hints;
use crate::raw_conn::RawConn;

const ECHO: &[&str] = &["4.3-a", "4.2-a"];

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "raw.bytes.all-256",
            Raw,
            Must,
            ECHO,
            "a frame holding all 256 byte values comes back unchanged",
            |c| echo(c, &[vec![(0..=255).collect()]]),
        )
        .on(&[Bare]),
        case(
            "raw.bytes.nul",
            Raw,
            Must,
            ECHO,
            "frames of NUL bytes and with embedded NULs come back unchanged",
            |c| echo(c, &[vec![vec![0], b"a\0b\0".to_vec(), vec![0; 100]]]),
        )
        .on(&[Bare]),
        case(
            "raw.bytes.invalid-utf8",
            Raw,
            Must,
            ECHO,
            "invalid UTF-8 comes back unchanged",
            |c| echo(c, &[vec![b"\xff\xfe\xc0\xaf\xed\xa0\x80".to_vec()]]),
        )
        .on(&[Bare]),
        case(
            "raw.frames.empty",
            Raw,
            Must,
            &["4.3-a", "4.2-a", "3.4-a"],
            "empty frames, alone and among others, come back unchanged",
            |c| {
                echo(
                    c,
                    &[
                        vec![Vec::new()],
                        vec![b"a".to_vec(), Vec::new(), b"b".to_vec()],
                        vec![b"x".to_vec(), Vec::new(), Vec::new()],
                    ],
                )
            },
        )
        .on(&[Bare]),
        case(
            "raw.frames.multipart-order",
            Raw,
            Must,
            &["4.2-a", "4.3-a"],
            "a 16-frame message comes back in the same frame order",
            |c| {
                echo(
                    c,
                    &[(0..16u8)
                        .map(|i| vec![b'a' + i; usize::from(i) + 1])
                        .collect()],
                )
            },
        )
        .on(&[Bare]),
        case(
            "raw.frames.many",
            Raw,
            Must,
            &["4.2-a", "4.3-a"],
            "a message of 1000 frames comes back whole, in order",
            |c| {
                echo(
                    c,
                    &[(0..1000u32).map(|i| i.to_be_bytes().to_vec()).collect()],
                )
            },
        )
        .on(&[Bare]),
        case(
            "raw.frames.leading-empty",
            Raw,
            Must,
            &["3.4-a", "4.3-a", "4.2-a"],
            "several leading empty frames all come back (only the first is a delimiter)",
            |c| {
                echo(
                    c,
                    &[
                        vec![Vec::new(), Vec::new(), b"two empty frames first".to_vec()],
                        vec![Vec::new(), Vec::new(), Vec::new(), b"three".to_vec()],
                        vec![Vec::new(), Vec::new()],
                    ],
                )
            },
        )
        .on(&[Delimited]),
        case(
            "raw.envelope.delimited",
            Raw,
            Must,
            &["3.3-b", "4.3-a"],
            "a message starting with an empty delimiter comes back with it",
            |c| {
                echo(
                    c,
                    &[
                        vec![Vec::new(), b"after the delimiter".to_vec()],
                        vec![Vec::new(), b"a".to_vec(), b"b".to_vec()],
                    ],
                )
            },
        )
        .on(&[Delimited]),
        case(
            "raw.envelope.req-socket",
            Raw,
            Must,
            &["3.3-b", "4.3-a", "7.1-c"],
            "a REQ socket gets its messages back",
            req_socket,
        )
        .on(&[Req])
        .req(),
        case(
            "raw.envelope.routing-id",
            Raw,
            Must,
            &["3.3-a", "4.3-a"],
            "a client that sets its own binary routing id gets its messages back",
            routing_id,
        )
        .on(&[RoutingId, Bare, Delimited]),
    ]
}

/// Sends each message and waits for its echo, then the sentinel.
fn echo(ctx: &Ctx, messages: &[Vec<Vec<u8>>]) -> Step<Verdict> {
    let conn = RawConn::dealer(ctx, "A")?;
    for m in messages {
        conn.round_trip(m)?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn req_socket(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::open(ctx, "REQ", zmq::REQ, &Options::default())?;
    for m in [
        vec![b"hello".to_vec()],
        vec![b"a".to_vec(), Vec::new(), b"c".to_vec()],
        vec![vec![0xff, 0]],
    ] {
        conn.round_trip(&m).map_err(|v| v.hint(hints::REQ_SILENT))?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn routing_id(ctx: &Ctx) -> Step<Verdict> {
    let conn = RawConn::open(
        ctx,
        "A",
        zmq::DEALER,
        &Options {
            routing_id: Some(ROUTING_ID.to_vec()),
            ..Options::default()
        },
    )?;
    for m in [
        vec![b"hello".to_vec()],
        vec![Vec::new(), b"delimited".to_vec()],
    ] {
        conn.round_trip(&m)
            .map_err(|v| v.hint(hints::ROUTING_ID_TEXT))?;
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}
