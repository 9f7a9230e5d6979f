//! ZeroMQ socket types as named in READY's `Socket-Type` property, and which
//! pairs may talk (RFC 28 and the pattern RFCs it points to).

use std::fmt;

use crate::ProtocolError;

/// A ZeroMQ socket type. The kit speaks as DEALER or ROUTER; any type can
/// be a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    Pair,
    Pub,
    Sub,
    Req,
    Rep,
    Dealer,
    Router,
    Pull,
    Push,
    XPub,
    XSub,
}

impl SocketType {
    /// The name on the wire, e.g. `"DEALER"`.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Reads a `Socket-Type` value; names are upper case, as libzmq sends
    /// them.
    pub fn from_name(name: &[u8]) -> Result<SocketType, ProtocolError> {
        Ok(match name {
            b"PAIR" => SocketType::Pair,
            b"PUB" => SocketType::Pub,
            b"SUB" => SocketType::Sub,
            b"REQ" => SocketType::Req,
            b"REP" => SocketType::Rep,
            b"DEALER" => SocketType::Dealer,
            b"ROUTER" => SocketType::Router,
            b"PULL" => SocketType::Pull,
            b"PUSH" => SocketType::Push,
            b"XPUB" => SocketType::XPub,
            b"XSUB" => SocketType::XSub,
            other => {
                return Err(ProtocolError::UnknownSocketType(
                    String::from_utf8_lossy(other).into_owned(),
                ))
            }
        })
    }

    /// The number a ZMTP 2.0 greeting carries for this type (libzmq's
    /// `ZMQ_PAIR` .. `ZMQ_XSUB`).
    pub fn number(self) -> u8 {
        match self {
            SocketType::Pair => 0,
            SocketType::Pub => 1,
            SocketType::Sub => 2,
            SocketType::Req => 3,
            SocketType::Rep => 4,
            SocketType::Dealer => 5,
            SocketType::Router => 6,
            SocketType::Pull => 7,
            SocketType::Push => 8,
            SocketType::XPub => 9,
            SocketType::XSub => 10,
        }
    }

    /// Reads the socket type of a ZMTP 2.0 greeting.
    pub fn from_number(number: u8) -> Result<SocketType, ProtocolError> {
        use SocketType::*;
        [
            Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub,
        ]
        .get(usize::from(number))
        .copied()
        .ok_or_else(|| ProtocolError::UnknownSocketType(format!("number {number}")))
    }

    /// Whether a socket of this type may talk to a `peer`.
    ///
    /// ```
    /// use plug_zmtp::SocketType::*;
    /// assert!(Dealer.accepts(Router) && Dealer.accepts(Rep) && Router.accepts(Req));
    /// assert!(!Dealer.accepts(Req) && !Router.accepts(Rep));
    /// ```
    pub fn accepts(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Pair, Pair)
                | (Pub, Sub | XSub)
                | (XPub, Sub | XSub)
                | (Sub, Pub | XPub)
                | (XSub, Pub | XPub)
                | (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pull, Push)
                | (Push, Pull)
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::SocketType::{self, *};

    const ALL: [SocketType; 11] = [
        Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub,
    ];

    #[test]
    fn names_round_trip() {
        for t in ALL {
            assert_eq!(SocketType::from_name(t.name().as_bytes()), Ok(t));
        }
        assert!(SocketType::from_name(b"dealer").is_err());
        assert!(SocketType::from_name(b"SERVER").is_err());
    }

    #[test]
    fn numbers_round_trip() {
        for t in ALL {
            assert_eq!(SocketType::from_number(t.number()), Ok(t));
        }
        assert_eq!((Dealer.number(), Router.number()), (5, 6));
        assert!(SocketType::from_number(11).is_err());
    }

    #[test]
    fn compatibility_is_symmetric() {
        for a in ALL {
            for b in ALL {
                assert_eq!(a.accepts(b), b.accepts(a), "{a} / {b}");
            }
        }
    }

    #[test]
    fn the_kits_pairs() {
        let dealer: Vec<_> = ALL.into_iter().filter(|t| Dealer.accepts(*t)).collect();
        assert_eq!(dealer, [Rep, Dealer, Router]);
        let router: Vec<_> = ALL.into_iter().filter(|t| Router.accepts(*t)).collect();
        assert_eq!(router, [Req, Dealer, Router]);
    }
}
