//! ZMTP heartbeats from this side: a PING every interval, and a peer that
//! stays silent past the timeout after one is reported.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, Sleep};

use crate::{Command, PeerInfo};

/// Heartbeat settings, as libzmq's `ZMQ_HEARTBEAT_IVL`, `_TIMEOUT`, `_TTL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Time between PINGs.
    pub interval: Duration,
    /// How long after a PING the peer may stay silent. Default: the interval.
    pub timeout: Duration,
    /// Sent in each PING: the peer may close the connection when it hears
    /// nothing from this side for this long. Default zero (no TTL), rounded
    /// down to tenths of a second on the wire.
    pub ttl: Duration,
}

impl Heartbeat {
    /// A PING every `interval`, a timeout of one interval, no TTL.
    pub fn every(interval: Duration) -> Heartbeat {
        Heartbeat {
            interval,
            timeout: interval,
            ttl: Duration::ZERO,
        }
    }
}

/// What a [`Keepalive`] tick asks of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Queue this PING and flush.
    Ping(Command),
    /// Nothing arrived for the timeout after a PING: close the connection.
    PeerSilent,
}

/// The heartbeat clock of one connection; its owner polls
/// [`Keepalive::tick`] beside its reads and writes.
#[derive(Debug)]
pub struct Keepalive {
    heartbeat: Heartbeat,
    next_ping: Instant,
    awaiting: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl Keepalive {
    /// `None` for a ZMTP 3.0 peer, which knows no PING (and for a zero
    /// interval).
    pub fn new(heartbeat: Heartbeat, peer: &PeerInfo) -> Option<Keepalive> {
        if !peer.version.has_heartbeats() || heartbeat.interval.is_zero() {
            return None;
        }
        let next_ping = Instant::now() + heartbeat.interval;
        Some(Keepalive {
            heartbeat,
            next_ping,
            awaiting: None,
            sleep: Box::pin(tokio::time::sleep_until(next_ping)),
        })
    }

    /// Waits for the next thing to do. `last_received` is
    /// [`Reader::last_received`](crate::Reader::last_received). Cancel-safe.
    pub async fn tick(&mut self, last_received: Instant) -> KeepaliveAction {
        loop {
            let now = Instant::now();
            if let Some(sent) = self.awaiting {
                if last_received >= sent {
                    self.awaiting = None;
                } else if now >= sent + self.heartbeat.timeout {
                    return KeepaliveAction::PeerSilent;
                }
            }
            if now >= self.next_ping {
                self.next_ping = now + self.heartbeat.interval;
                self.awaiting.get_or_insert(now);
                let tenths = self.heartbeat.ttl.as_millis() / 100;
                return KeepaliveAction::Ping(Command::Ping {
                    ttl: tenths.min(u16::MAX as u128) as u16,
                    context: Bytes::new(),
                });
            }
            let deadline = match self.awaiting {
                Some(sent) => self.next_ping.min(sent + self.heartbeat.timeout),
                None => self.next_ping,
            };
            if self.sleep.deadline() != deadline {
                self.sleep.as_mut().reset(deadline);
            }
            self.sleep.as_mut().await;
        }
    }
}
