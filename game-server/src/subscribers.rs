//! Plugs listening for world updates, and pushing updates to them.
//!
//! A plug subscribes with a `subscribe` request; the server remembers the
//! envelope it came in (its ROUTER identity) and sends it messages with no
//! id (PROTOCOL.md §7.1):
//!
//! ```text
//! {"method":"worldUpdate","params":{"event":"move","room":"lobby","player":{...}}}
//! ```
//!
//! A subscriber that is gone (`EHOSTUNREACH`) is forgotten. One whose queue
//! is full misses that update, with a warning and a count: the next update
//! carries the newer state anyway.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use plug::protocol::Envelope;
use plug::server::{peer_name, Outbox, Undelivered};
use plug::Frame;
use serde_json::{json, Value};

/// One listening plug.
#[derive(Debug)]
struct Subscriber {
    envelope: Envelope,
    /// Only this room's updates; every room's when `None`.
    room: Option<String>,
}

/// The listening plugs, keyed by identity.
#[derive(Debug, Default)]
pub struct Subscribers {
    by_identity: HashMap<Vec<u8>, Subscriber>,
    /// Updates not delivered because a subscriber's queue was full.
    pub skipped: AtomicU64,
    /// Subscribers forgotten because they were gone.
    pub forgotten: AtomicU64,
}

impl Subscribers {
    /// Adds or updates the subscription of the peer of `envelope`.
    /// Returns false when the peer is new and `limit` is reached.
    pub fn subscribe(&mut self, envelope: Envelope, room: Option<String>, limit: usize) -> bool {
        let key = identity(&envelope);
        if !self.by_identity.contains_key(&key) && self.by_identity.len() >= limit {
            return false;
        }
        self.by_identity.insert(key, Subscriber { envelope, room });
        true
    }

    /// Removes the subscription of the peer of `envelope`; true if it had one.
    pub fn unsubscribe(&mut self, envelope: &Envelope) -> bool {
        self.by_identity.remove(&identity(envelope)).is_some()
    }

    /// How many plugs listen.
    pub fn len(&self) -> usize {
        self.by_identity.len()
    }

    /// Pushes `{"method":"worldUpdate","params":{"event":..,"room":..,"player":..}}`
    /// to every subscriber of `room`, without waiting for any of them.
    pub fn push(&mut self, outbox: &Outbox, event: &str, room: &str, player: Value) {
        if self.by_identity.is_empty() {
            return;
        }
        let update = json!({
            "method": "worldUpdate",
            "params": { "event": event, "room": room, "player": player },
        });
        let body = serde_json::to_vec(&update).expect("JSON serializes");
        let mut gone = Vec::new();
        for (key, sub) in &self.by_identity {
            if sub.room.as_deref().is_some_and(|r| r != room) {
                continue;
            }
            match outbox.try_send(&sub.envelope, vec![Frame::copy_from(&body)]) {
                Ok(()) => {}
                Err(Undelivered::Gone) => gone.push(key.clone()),
                Err(e) => {
                    self.skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(peer = peer_name(&sub.envelope), "world update skipped: {e}");
                }
            }
        }
        for key in gone {
            if let Some(sub) = self.by_identity.remove(&key) {
                self.forgotten.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    peer = peer_name(&sub.envelope),
                    "subscriber gone; forgotten"
                );
            }
        }
    }
}

fn identity(envelope: &Envelope) -> Vec<u8> {
    envelope.identity().map_or(Vec::new(), |f| f.to_vec())
}
