//! `raw.*`: a raw echo server sends every message back frame for frame and
//! byte for byte, in order (§4).

use std::collections::VecDeque;

use super::case;
use crate::case::{fail, Case, Ctx, Profile::Raw, Requirement::*, Step, Verdict};
use crate::conn::Conn;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "raw.bytes.all-256",
            Raw,
            Must,
            "4.1",
            "a frame holding all 256 byte values comes back unchanged",
            |c| echo(c, vec![(0..=255).collect()]),
        ),
        case(
            "raw.bytes.nul",
            Raw,
            Must,
            "4.1",
            "frames of NUL bytes and with embedded NULs come back unchanged",
            |c| echo(c, vec![vec![0], b"a\0b\0".to_vec(), vec![0; 100]]),
        ),
        case(
            "raw.bytes.invalid-utf8",
            Raw,
            Must,
            "4.1",
            "invalid UTF-8 comes back unchanged",
            |c| echo(c, vec![b"\xff\xfe\xc0\xaf\xed\xa0\x80".to_vec()]),
        ),
        case(
            "raw.frames.empty",
            Raw,
            Must,
            "4.1",
            "empty frames, alone and among others, come back unchanged",
            empty_frames,
        ),
        case(
            "raw.frames.multipart-order",
            Raw,
            Must,
            "4.2",
            "a 16-frame message comes back in the same frame order",
            |c| {
                echo(
                    c,
                    (0..16u8)
                        .map(|i| vec![b'a' + i; usize::from(i) + 1])
                        .collect(),
                )
            },
        ),
        case(
            "raw.envelope.delimited",
            Raw,
            Must,
            "3.3",
            "a message starting with an empty delimiter comes back with it",
            |c| echo(c, vec![Vec::new(), b"after the delimiter".to_vec()]),
        ),
        case(
            "raw.size.1mib",
            Raw,
            Must,
            "4.1",
            "a 1 MiB frame comes back unchanged",
            |c| echo(c, vec![pattern(1 << 20)]),
        )
        .slow(10),
        case(
            "raw.size.64mib",
            Raw,
            Must,
            "4.1",
            "a 64 MiB frame comes back unchanged",
            |c| echo(c, vec![pattern(64 << 20)]),
        )
        .slow(60),
        case(
            "raw.order.10k",
            Raw,
            Must,
            "4.3",
            "10000 messages, up to 500 in flight, come back complete and in order",
            order,
        )
        .slow(60),
        case(
            "raw.clients.own-messages",
            Raw,
            Must,
            "2.5",
            "4 clients at once each get back only their own messages, in order",
            clients,
        )
        .slow(10),
    ]
}

/// Bytes whose every position is recognisable, so a cut or shift shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn echo(ctx: &Ctx, frames: Vec<Vec<u8>>) -> Step<Verdict> {
    let conn = Conn::open(ctx, zmq::DEALER, "A")?;
    round_trip(&conn, &frames)?;
    Ok(Verdict::Pass)
}

fn round_trip(conn: &Conn, frames: &[Vec<u8>]) -> Step<()> {
    conn.send(frames)?;
    let got = conn.recv("the same message back")?;
    same(frames, &got)
}

/// Fails with the first difference between what was sent and what came back.
pub(crate) fn same(sent: &[Vec<u8>], got: &[Vec<u8>]) -> Step<()> {
    if sent == got {
        return Ok(());
    }
    let expected = format!(
        "the same {} frame(s) back, byte for byte (§4.3)",
        sent.len()
    );
    if sent.len() != got.len() {
        return Err(fail(expected, format!("{} frame(s)", got.len())));
    }
    for (i, (s, g)) in sent.iter().zip(got).enumerate() {
        if s != g {
            let at = s
                .iter()
                .zip(g)
                .position(|(a, b)| a != b)
                .unwrap_or(s.len().min(g.len()));
            return Err(fail(
                expected,
                format!(
                    "frame {i} differs at byte {at}: {} bytes sent, {} received",
                    s.len(),
                    g.len()
                ),
            ));
        }
    }
    unreachable!("equal lengths and equal frames")
}

fn empty_frames(ctx: &Ctx) -> Step<Verdict> {
    let conn = Conn::open(ctx, zmq::DEALER, "A")?;
    for frames in [
        vec![Vec::new()],
        vec![b"a".to_vec(), Vec::new(), b"b".to_vec()],
        vec![b"x".to_vec(), Vec::new(), Vec::new()],
    ] {
        round_trip(&conn, &frames)?;
    }
    Ok(Verdict::Pass)
}

fn seq(n: u32) -> Vec<Vec<u8>> {
    vec![format!("seq {n}").into_bytes(), n.to_be_bytes().to_vec()]
}

fn order(ctx: &Ctx) -> Step<Verdict> {
    let conn = Conn::open(ctx, zmq::DEALER, "A")?;
    pump(&conn, 10_000, 500, seq)?;
    Ok(Verdict::Pass)
}

/// Sends `total` messages with at most `window` unanswered; each reply must
/// be the oldest message still in flight.
fn pump(conn: &Conn, total: u32, window: usize, make: impl Fn(u32) -> Vec<Vec<u8>>) -> Step<()> {
    let mut in_flight = VecDeque::new();
    let mut next = 0u32;
    let mut done = 0u32;
    conn.note(format!(
        "sending {total} messages, at most {window} in flight"
    ));
    while done < total {
        while next < total && in_flight.len() < window {
            let m = make(next);
            conn.send(&m)?;
            in_flight.push_back(m);
            next += 1;
        }
        let Some(got) = conn.recv_within(conn.timeout())? else {
            return Err(fail(
                format!("all {total} messages back"),
                format!(
                    "{done} back, then nothing for {} ms",
                    conn.timeout().as_millis()
                ),
            ));
        };
        let want = in_flight.pop_front().expect("a message in flight");
        if got != want {
            return Err(fail(
                format!("message {done} back next, in order (§4.3)"),
                format!("{} instead", crate::trace::show_frames(&got)),
            ));
        }
        done += 1;
    }
    Ok(())
}

fn clients(ctx: &Ctx) -> Step<Verdict> {
    let names = ["A", "B", "C", "D"];
    let conns: Vec<Conn> = names
        .iter()
        .map(|n| Conn::open(ctx, zmq::DEALER, n))
        .collect::<Step<_>>()?;
    let msg = |k: usize, i: u32| vec![format!("client {} message {i}", names[k]).into_bytes()];
    for i in 0..200 {
        for (k, c) in conns.iter().enumerate() {
            c.send(&msg(k, i))?;
        }
    }
    for (k, c) in conns.iter().enumerate() {
        for i in 0..200 {
            let got = c.recv(&format!("client {}'s own 200 messages back", names[k]))?;
            if got != msg(k, i) {
                return Err(fail(
                    format!("client {}'s message {i} back", names[k]),
                    crate::trace::show_frames(&got),
                ));
            }
        }
    }
    Ok(Verdict::Pass)
}
