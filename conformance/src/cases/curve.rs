//! `curve.*`: a CURVE server turns away plain-text clients and clients whose
//! key is not on its allow-list (§2.6). Run only with `--server-key`; every
//! other case then talks CURVE with the run's client key pair, so a pass of
//! the whole run also shows that the allowed client gets in.

use std::time::Duration;

use crate::case::{ensure, Ctx, Profile, Requirement, Step, Verdict};
use crate::cases::case;
use crate::conn::{Conn, Options};

pub(crate) fn cases() -> Vec<crate::case::Case> {
    vec![
        case(
            "curve.rpc.plaintext-refused",
            Profile::Rpc,
            Requirement::Must,
            &["2.6-a"],
            "a plain-text client's request gets no reply",
            plaintext,
        ),
        case(
            "curve.rpc.stranger-refused",
            Profile::Rpc,
            Requirement::Should,
            &["2.6-b"],
            "a CURVE client whose key is not on the allow-list gets no reply",
            stranger,
        ),
        case(
            "curve.raw.plaintext-refused",
            Profile::Raw,
            Requirement::Must,
            &["2.6-a"],
            "a plain-text client's message is not echoed",
            plaintext,
        ),
        case(
            "curve.raw.stranger-refused",
            Profile::Raw,
            Requirement::Should,
            &["2.6-b"],
            "a CURVE client whose key is not on the allow-list gets nothing back",
            stranger,
        ),
    ]
}

/// Long enough for a loopback or LAN handshake and a reply to an admitted
/// client (the run's probe already got one), short enough to keep the run
/// quick.
fn silence_wait(ctx: &Ctx) -> Duration {
    ctx.timeout.min(Duration::from_millis(1500))
}

/// Sends a message any server of either profile answers (a valid `ping`
/// request, which a raw server echoes) and expects silence.
fn refused(ctx: &Ctx, who: &str, curve: Option<&plug::CurveClient>) -> Step<Verdict> {
    let conn = Conn::open_with(ctx, zmq::DEALER, "stranger", curve, &Options::default())?;
    conn.note(format!("{who} connects"));
    let msg = [br#"{"id":"curve-check","method":"ping"}"#.to_vec()];
    // With nobody admitting the connection, libzmq may hold the message
    // until the send timeout: that too means it never reached the server.
    if conn.send(&msg).is_err() {
        conn.note("the message was never taken by a connection: refused");
        return Ok(Verdict::Pass);
    }
    let wait = silence_wait(ctx);
    let got = conn.recv_within(wait)?;
    ensure(got.is_none(), format!("no reply to {who} (§2.6)"), || {
        format!("the server answered {who}: it was let in")
    })?;
    conn.note(format!(
        "nothing back within {} ms: refused",
        wait.as_millis()
    ));
    Ok(Verdict::Pass)
}

fn plaintext(ctx: &Ctx) -> Step<Verdict> {
    refused(ctx, "a plain-text client", None)
}

fn stranger(ctx: &Ctx) -> Step<Verdict> {
    let Some(run) = &ctx.curve else {
        return Err(crate::case::fail(
            "--server-key for the curve.* cases",
            "no server key",
        ));
    };
    let pair = plug::Keypair::generate()
        .map_err(|e| crate::case::fail("a CURVE key pair", e.to_string()))?;
    let mut curve = plug::CurveClient::new(run.server_key.clone());
    curve.public_key = Some(pair.public().to_owned());
    curve.secret_key = Some(pair.secret().to_owned());
    refused(
        ctx,
        "a client with a key not on the allow-list",
        Some(&curve),
    )
}
