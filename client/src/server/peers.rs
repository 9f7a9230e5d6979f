//! Requests in flight per peer (PROTOCOL.md §8.2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The number of requests each peer has in flight, keyed by identity.
#[derive(Clone, Default)]
pub(crate) struct PeerLoad(Arc<Mutex<HashMap<Arc<[u8]>, usize>>>);

/// One request counted against its peer until dropped.
pub(crate) struct Load {
    peers: PeerLoad,
    key: Arc<[u8]>,
}

impl PeerLoad {
    /// Counts one more request for `identity`; returns the guard and how
    /// many the peer had before this one.
    pub fn acquire(&self, identity: &[u8]) -> (Load, usize) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A peer with requests in flight already has its key: no allocation.
        let key = match map.get_key_value(identity) {
            Some((key, _)) => key.clone(),
            None => Arc::from(identity),
        };
        let n = map.entry(key.clone()).or_insert(0);
        let before = *n;
        *n += 1;
        let load = Load {
            peers: self.clone(),
            key,
        };
        (load, before)
    }

    #[cfg(test)]
    fn get(&self, identity: &[u8]) -> usize {
        let map = self.0.lock().unwrap();
        map.get(identity).copied().unwrap_or(0)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        let mut map = self.peers.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_peer_and_forgets_idle_peers() {
        let p = PeerLoad::default();
        let (a1, n) = p.acquire(b"a");
        assert_eq!(n, 0);
        let (_a2, n) = p.acquire(b"a");
        assert_eq!(n, 1);
        let (b1, n) = p.acquire(b"b");
        assert_eq!(n, 0);
        drop(a1);
        assert_eq!(p.get(b"a"), 1);
        drop(b1);
        assert!(!p.0.lock().unwrap().contains_key(&b"b"[..]));
    }
}
