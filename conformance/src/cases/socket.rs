//! `rpc.socket.*`, `raw.socket.*`: the server binds, answers, and uses a
//! socket type that can serve plugs (§2.1). The `answers` case runs first
//! in every profile; when it gets nothing, the other cases cannot run.

use super::case;
use crate::case::{Case, Path::*, Profile, Requirement::*};
use crate::probe::{answers, socket_type};

pub(super) fn rpc() -> Vec<Case> {
    vec![
        case(
            "rpc.socket.answers",
            Profile::Rpc,
            Must,
            &["2.1-a", "5.3-d", "5.3-a", "5.2-a", "2.3-a"],
            "the server completes the ZeroMQ handshake and answers a bare request, then 16 at once",
            |c| answers(c, Profile::Rpc),
        )
        .on(&[Success, Bare]),
        case(
            "rpc.socket.type",
            Profile::Rpc,
            Must,
            &["2.1-b", "2.1-c"],
            "the server's socket is a ROUTER (or a DEALER serving one plug), not a REP",
            socket_type,
        ),
    ]
}

pub(super) fn raw() -> Vec<Case> {
    vec![
        case(
            "raw.socket.answers",
            Profile::Raw,
            Must,
            &["2.1-a", "4.3-a", "2.3-a"],
            "the server completes the ZeroMQ handshake and echoes a bare message, then 16 at once",
            |c| answers(c, Profile::Raw),
        )
        .on(&[Bare]),
        case(
            "raw.socket.type",
            Profile::Raw,
            Must,
            &["2.1-b", "2.1-c"],
            "the server's socket is a ROUTER (or a DEALER serving one plug), not a REP",
            socket_type,
        ),
    ]
}
