//! Is the server there? One round trip that any conforming server of the
//! profile answers: used before a run, while waiting for a spawned server,
//! and after a failed case to tell a broken rule from a dead server.

use crate::case::{fail, Ctx, Profile, Step};
use crate::conn::Conn;

/// One probe round trip on a new connection.
pub(crate) fn probe(ctx: &Ctx, profile: Profile) -> Step<()> {
    match profile {
        Profile::Rpc => crate::rpc::liveness(ctx, "the previous case"),
        Profile::Raw => {
            let conn = Conn::open(ctx, zmq::DEALER, "probe")?;
            let msg = [b"plug-conformance probe".to_vec()];
            conn.send(&msg)?;
            let got = conn.recv("the probe message echoed back")?;
            if got[..] == msg[..] {
                Ok(())
            } else {
                Err(fail(
                    "the probe message echoed back (is this a raw echo server?)",
                    crate::trace::show_frames(&got),
                ))
            }
        }
    }
}
