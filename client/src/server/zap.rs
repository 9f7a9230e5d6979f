//! The ZAP handler (ZeroMQ RFC 27): libzmq asks it whether a CURVE client
//! may connect, and it answers from the server's allow-list.
//!
//! libzmq sends every handshake of a context to one REP socket bound at
//! `inproc://zeromq.zap.01` in that context. Each CURVE server bound by
//! [`bind_in`](super::bind_in) gets a ZAP domain of its own (`plug-N`) whose
//! allow-list is registered here; one handler thread per context answers
//! for all of them:
//!
//! ```text
//! request:  ["1.0", request id, domain, address, identity, "CURVE", client public key (32 bytes)]
//! reply:    ["1.0", request id, "200" | "400", status text, user id, metadata]
//! ```
//!
//! A CURVE client on the domain's allow-list gets 200 (its Z85 key becomes
//! the user id); any other CURVE or PLAIN handshake gets 400 and a warning
//! in the log. NULL handshakes (plain-text sockets sharing the context) get
//! 200, as they would with no handler at all.
//!
//! The thread's socket does not keep the context alive: when the context is
//! terminated, the thread sees `ETERM`, closes its socket and ends.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Where libzmq looks for the ZAP handler (RFC 27).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// Client public keys (32 bytes each) admitted to one server.
type AllowList = HashSet<Vec<u8>>;

fn domains() -> &'static Mutex<HashMap<String, AllowList>> {
    static DOMAINS: OnceLock<Mutex<HashMap<String, AllowList>>> = OnceLock::new();
    DOMAINS.get_or_init(Mutex::default)
}

/// Registers an allow-list under a new ZAP domain, makes sure a handler
/// answers in `ctx`, and returns the domain for the server socket.
pub(crate) fn register(ctx: &zmq::Context, allow: AllowList) -> Result<String, zmq::Error> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let domain = format!("plug-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    domains()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(domain.clone(), allow);
    ensure_handler(ctx)?;
    Ok(domain)
}

/// Starts the handler thread of `ctx` unless one is bound already.
fn ensure_handler(ctx: &zmq::Context) -> Result<(), zmq::Error> {
    let sock = ctx.socket(zmq::REP)?;
    sock.set_linger(0)?;
    match sock.bind(ZAP_ENDPOINT) {
        Ok(()) => {}
        // Bound by an earlier server in this context: that handler reads the
        // same domain table.
        Err(zmq::Error::EADDRINUSE) => return Ok(()),
        Err(e) => return Err(e),
    }
    // Drop the socket's handle on the context, so that terminating the
    // context ends this thread instead of waiting for it forever.
    // SAFETY: `into_raw` gives up ownership without closing the socket;
    // `from_raw` takes it back as the only owner.
    let sock = unsafe { zmq::Socket::from_raw(sock.into_raw()) };
    std::thread::Builder::new()
        .name("plug-zap".into())
        .spawn(move || serve(sock))
        .map_err(|_| zmq::Error::ENOMEM)?;
    Ok(())
}

fn serve(sock: zmq::Socket) {
    loop {
        let request = match sock.recv_multipart(0) {
            Ok(r) => r,
            Err(zmq::Error::EINTR) => continue,
            Err(zmq::Error::ETERM) => break,
            Err(e) => {
                tracing::error!(error = %e, "ZAP handler failed; CURVE clients can no longer connect");
                break;
            }
        };
        let reply = answer(&request);
        match sock.send_multipart(reply, 0) {
            Ok(()) => {}
            Err(zmq::Error::ETERM) => break,
            Err(e) => tracing::error!(error = %e, "ZAP reply not sent"),
        }
    }
}

/// The reply to one ZAP request.
fn answer(request: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let frame = |i: usize| request.get(i).map(Vec::as_slice).unwrap_or_default();
    let text = |i: usize| String::from_utf8_lossy(frame(i)).into_owned();
    let request_id = frame(1).to_vec();
    let reply = |code: &str, status: &str, user: &str| {
        vec![
            b"1.0".to_vec(),
            request_id.clone(),
            code.as_bytes().to_vec(),
            status.as_bytes().to_vec(),
            user.as_bytes().to_vec(),
            Vec::new(),
        ]
    };
    if request.len() < 6 || frame(0) != b"1.0" {
        tracing::warn!(frames = request.len(), "malformed ZAP request refused");
        return reply("400", "malformed ZAP request", "");
    }
    let (domain, address, mechanism) = (text(2), text(3), text(5));
    match mechanism.as_str() {
        "NULL" => reply("200", "OK", ""),
        "CURVE" => {
            let key = frame(6);
            let client = zmq::z85_encode(key).unwrap_or_else(|_| "<bad key>".into());
            let allowed = domains()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&domain)
                .map(|allow| allow.contains(key));
            match allowed {
                Some(true) => {
                    tracing::debug!(%domain, %address, %client, "CURVE client admitted");
                    reply("200", "OK", &client)
                }
                Some(false) => {
                    tracing::warn!(%domain, %address, %client, "CURVE client refused: its public key is not on the allow-list");
                    reply("400", "client key not allowed", "")
                }
                None => {
                    tracing::warn!(%domain, %address, %client, "CURVE client refused: no allow-list for this ZAP domain");
                    reply("400", "unknown ZAP domain", "")
                }
            }
        }
        other => {
            tracing::warn!(%domain, %address, mechanism = other, "client refused: only CURVE is admitted");
            reply("400", "mechanism not allowed", "")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(domain: &str, mechanism: &str, key: &[u8]) -> Vec<Vec<u8>> {
        vec![
            b"1.0".to_vec(),
            b"7".to_vec(),
            domain.as_bytes().to_vec(),
            b"127.0.0.1".to_vec(),
            Vec::new(),
            mechanism.as_bytes().to_vec(),
            key.to_vec(),
        ]
    }

    #[test]
    fn answers_from_the_allow_list() {
        let known = vec![1u8; 32];
        let domain = "plug-test-zap";
        domains()
            .lock()
            .unwrap()
            .insert(domain.into(), [known.clone()].into_iter().collect());
        let ok = answer(&request(domain, "CURVE", &known));
        assert_eq!(ok[1], b"7");
        assert_eq!(ok[2], b"200");
        assert_eq!(ok[4], zmq::z85_encode(&known).unwrap().as_bytes());
        assert_eq!(answer(&request(domain, "CURVE", &[2u8; 32]))[2], b"400");
        assert_eq!(answer(&request("plug-none", "CURVE", &known))[2], b"400");
        assert_eq!(answer(&request(domain, "PLAIN", b"user"))[2], b"400");
        assert_eq!(answer(&request("", "NULL", b""))[2], b"200");
        assert_eq!(answer(&[b"1.0".to_vec()])[2], b"400");
        assert_eq!(ok.len(), 6);
    }
}
