//! `rpc.envelope.*`: replies come back to the peer that asked, in the
//! envelope the request had (§3.3, §3.4), on every reply path.

use super::case;
use super::rpc_id::ROUTING_ID;
use crate::case::{Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::conn::Options;
use crate::hints;
use crate::rpc::{call_optional, Request, RpcConn, Style};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.envelope.bare",
            Rpc,
            Must,
            &["3.3-b", "5.3-a", "5.3-d"],
            "a bare request [body] gets a bare reply [reply], no delimiter added",
            |c| paths(c, RpcConn::dealer(c, "A", Style::Bare)?),
        )
        .on(&[Bare, Success, Error]),
        case(
            "rpc.envelope.delimited",
            Rpc,
            Must,
            &["3.3-b", "5.3-a", "5.3-d"],
            "a delimited request [\"\", body] gets [\"\", reply], on success and error",
            |c| paths(c, RpcConn::dealer(c, "A", Style::Delimited)?),
        )
        .on(&[Delimited, Success, Error]),
        case(
            "rpc.envelope.req-socket",
            Rpc,
            Must,
            &["3.3-b", "5.3-a", "5.3-d", "7.1-c"],
            "a real REQ socket gets its replies, on success and error",
            |c| paths(c, RpcConn::req(c, "REQ")?),
        )
        .on(&[Req, Success, Error])
        .req(),
        case(
            "rpc.envelope.mixed",
            Rpc,
            Must,
            &["3.4-a", "3.3-b", "5.3-d"],
            "one peer alternating bare and delimited requests gets each reply in its own envelope",
            mixed,
        )
        .on(&[Bare, Delimited, Success]),
        case(
            "rpc.envelope.deferred-delimited",
            Rpc,
            Must,
            &["3.3-b", "5.3-d", "6.3-a"],
            "a reply sent later (`sleep`) to a delimited request keeps the delimiter",
            |c| deferred(c, RpcConn::dealer(c, "A", Style::Delimited)?),
        )
        .on(&[Deferred, Delimited]),
        case(
            "rpc.envelope.deferred-req",
            Rpc,
            Must,
            &["3.3-b", "5.3-d", "6.3-a", "7.1-c"],
            "a reply sent later (`sleep`) reaches a REQ socket",
            |c| deferred(c, RpcConn::req(c, "REQ")?),
        )
        .on(&[Deferred, Req])
        .req(),
        case(
            "rpc.envelope.routing-id",
            Rpc,
            Must,
            &["3.3-a", "3.3-b", "5.3-d"],
            "a client that sets its own binary routing id gets every reply, bare and delimited",
            routing_id,
        )
        .on(&[RoutingId, Success, Error, Deferred, Bare, Delimited]),
    ]
}

fn paths(_ctx: &Ctx, conn: RpcConn) -> Step<Verdict> {
    conn.call(&Request::call("1", "ping"))?;
    conn.call(&Request::call("2", "plug.conformance.no-such-method"))?;
    conn.call(&Request::call("3", "ping"))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn mixed(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    for id in 1..=6 {
        conn.set_style(if id % 2 == 0 {
            Style::Delimited
        } else {
            Style::Bare
        });
        conn.call(&Request::call(&id.to_string(), "ping"))?;
    }
    conn.set_style(Style::Bare);
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn deferred(_ctx: &Ctx, conn: RpcConn) -> Step<Verdict> {
    call_optional(
        &conn,
        &Request::with_params("1", "sleep", r#"{"ms":50}"#),
        "sleep",
    )?;
    conn.call(&Request::with_params("2", "sleep", r#"{"ms":1}"#))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}

fn routing_id(ctx: &Ctx) -> Step<Verdict> {
    let conn = RpcConn::open(
        ctx,
        "A",
        zmq::DEALER,
        Style::Bare,
        &Options {
            routing_id: Some(ROUTING_ID.to_vec()),
            ..Options::default()
        },
    )?;
    let run = || -> Step<()> {
        for style in [Style::Bare, Style::Delimited] {
            conn.set_style(style);
            conn.call(&Request::call("1", "ping"))?;
            conn.call(&Request::call("2", "plug.conformance.no-such-method"))?;
            let slept = conn.call(&Request::with_params("3", "sleep", r#"{"ms":20}"#))?;
            if slept.is_method_not_found() {
                ctx.notes
                    .detail("`sleep` is not implemented: the later-reply path was not checked");
            }
        }
        conn.set_style(Style::Bare);
        Ok(())
    };
    run().map_err(|v| v.hint(hints::ROUTING_ID_TEXT))?;
    conn.finish()?;
    Ok(Verdict::Pass)
}
