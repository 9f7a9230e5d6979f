//! `rpc.envelope.*`: replies come back in the envelope the request had
//! (§3.1 to §3.4).

use plug::protocol::EnvelopeStyle;

use super::case;
use crate::case::{Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{request, RpcConn};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.envelope.bare",
            Rpc,
            Must,
            "3.3",
            "a bare request [body] gets a bare reply [reply], no delimiter added",
            |c| one_style(c, EnvelopeStyle::Bare),
        ),
        case(
            "rpc.envelope.delimited",
            Rpc,
            Must,
            "3.3",
            "a delimited request [\"\", body] gets [\"\", reply]",
            |c| one_style(c, EnvelopeStyle::Delimited),
        ),
        case(
            "rpc.envelope.req-socket",
            Rpc,
            Must,
            "3.2",
            "a real REQ socket gets its replies",
            req_socket,
        ),
        case(
            "rpc.envelope.mixed",
            Rpc,
            Must,
            "3.4",
            "one peer alternating bare and delimited requests gets each reply in its own envelope",
            mixed,
        ),
    ]
}

fn one_style(ctx: &Ctx, style: EnvelopeStyle) -> Step<Verdict> {
    let conn = RpcConn::dealer(ctx, "A", style)?;
    for id in 1..=3 {
        conn.call(&request(&id.to_string(), "ping", None))?;
    }
    Ok(Verdict::Pass)
}

fn req_socket(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::req(ctx, "REQ")?;
    for id in 1..=3 {
        conn.call(&request(&id.to_string(), "ping", None))?;
    }
    Ok(Verdict::Pass)
}

fn mixed(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::dealer(ctx, "A", EnvelopeStyle::Bare)?;
    for id in 1..=6 {
        conn.set_style(if id % 2 == 0 {
            EnvelopeStyle::Delimited
        } else {
            EnvelopeStyle::Bare
        });
        conn.call(&request(&id.to_string(), "ping", None))?;
    }
    Ok(Verdict::Pass)
}
