//! How plugs and servers reach their peers.
//!
//! Both transports speak the same wire protocol, ZMTP 3.1 (PROTOCOL.md §2):
//! a peer on one cannot tell it from the other.
//!
//! - **native**: ZMTP spoken directly on tokio's TCP and Unix sockets, with
//!   the codec of the `plug-zmtp` crate. No I/O thread and no mailbox between
//!   the caller and the socket: a message costs one task's work on each side.
//!   `tcp://` and `ipc://` endpoints, NULL security only.
//! - **libzmq**: a libzmq socket driven by tokio ([`crate::socket`]). Every
//!   endpoint kind (`inproc://` too) and CURVE encryption.
//!
//! [`Transport::choose`] picks native for `tcp://` and `ipc://` unless CURVE
//! is asked for, and libzmq otherwise; a plug's `transport` key or a server's
//! [`SocketOptions::transport`](crate::server::SocketOptions::transport)
//! overrides it.
//!
//! Layout: `address` (where a native socket dials or binds), and `native/`
//! (the queue between callers and a connection's task, shared by the plug's
//! links and the server's peers).

mod address;
pub(crate) mod native;

use std::fmt;
use std::str::FromStr;

pub(crate) use address::Address;

/// Which implementation of ZMTP carries a plug's or a server's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Transport {
    /// ZMTP on tokio sockets (`tcp://`, `ipc://`; no CURVE).
    Native,
    /// libzmq (every endpoint kind; CURVE).
    Libzmq,
}

impl Transport {
    /// The transport for `endpoint` when none is configured: native for
    /// `tcp://` and `ipc://`, libzmq for anything else or when CURVE is on.
    pub fn choose(endpoint: &str, curve: bool) -> Transport {
        if !curve && Address::native(endpoint).is_some() {
            Transport::Native
        } else {
            Transport::Libzmq
        }
    }

    /// Checks that this transport can carry `endpoint` (with CURVE or not);
    /// the error says why not.
    pub fn supports(self, endpoint: &str, curve: bool) -> Result<(), String> {
        match self {
            Transport::Libzmq => Ok(()),
            Transport::Native if curve => Err(
                "the native transport has no CURVE encryption: use transport = \"libzmq\"".into(),
            ),
            Transport::Native => match Address::native(endpoint) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "the native transport carries tcp:// and ipc:// endpoints, not `{endpoint}`: \
                     use transport = \"libzmq\""
                )),
            },
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Native => "native",
            Transport::Libzmq => "libzmq",
        })
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Transport, String> {
        match s {
            "native" => Ok(Transport::Native),
            "libzmq" => Ok(Transport::Libzmq),
            other => Err(format!(
                "unknown transport `{other}` (expected `native` or `libzmq`)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_for_tcp_and_ipc_without_curve() {
        assert_eq!(
            Transport::choose("tcp://127.0.0.1:5555", false),
            Transport::Native
        );
        assert_eq!(Transport::choose("ipc:///tmp/x", false), Transport::Native);
        assert_eq!(Transport::choose("inproc://x", false), Transport::Libzmq);
        assert_eq!(
            Transport::choose("tcp://127.0.0.1:5555", true),
            Transport::Libzmq
        );
        assert!(Transport::Native.supports("inproc://x", false).is_err());
        assert!(Transport::Native.supports("tcp://h:1", true).is_err());
        assert!(Transport::Libzmq.supports("inproc://x", true).is_ok());
        assert_eq!("native".parse(), Ok(Transport::Native));
        assert!("zmq".parse::<Transport>().is_err());
    }
}
