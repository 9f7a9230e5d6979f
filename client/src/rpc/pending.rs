//! The pending table: where a reply's `id` is matched to its request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::{Error, Reply};

pub(crate) type Slot = oneshot::Sender<Result<Reply, Error>>;

/// Requests waiting for their reply, by id. The ids are the plug's own
/// counter, so a fast non-cryptographic hash is enough.
#[derive(Default)]
pub(crate) struct Pending {
    map: Mutex<Table>,
}

type Table = HashMap<u64, Slot, foldhash::fast::FixedState>;

impl Pending {
    /// Registers `id`. The entry leaves the table when the reply completes
    /// it or when the guard is dropped (timeout or a cancelled caller), so
    /// the table never keeps an entry nobody waits for.
    pub(crate) fn insert(
        self: &Arc<Self>,
        id: u64,
    ) -> (oneshot::Receiver<Result<Reply, Error>>, PendingGuard) {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        let guard = PendingGuard {
            table: Arc::clone(self),
            id,
        };
        (rx, guard)
    }

    /// Takes request `id` out of the table, if it waits: the one place a
    /// reply's id finds its request.
    pub(crate) fn take(&self, id: u64) -> Option<Slot> {
        self.lock().remove(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Ends every pending request with `Error::Closed`.
    pub(crate) fn close_all(&self) {
        let drained: Vec<Slot> = self.lock().drain().map(|(_, tx)| tx).collect();
        for tx in drained {
            let _ = tx.send(Err(Error::Closed));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) struct PendingGuard {
    table: Arc<Pending>,
    id: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.table.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_leave_on_reply_or_drop() {
        let p = Arc::new(Pending::default());
        let (rx, guard) = p.insert(1);
        assert_eq!(p.len(), 1);
        assert!(p.take(1).unwrap().send(Err(Error::Closed)).is_ok());
        assert!(matches!(rx.await.unwrap(), Err(Error::Closed)));
        drop(guard);
        let (_rx, guard) = p.insert(2);
        drop(guard);
        assert_eq!(p.len(), 0);
        assert!(p.take(2).is_none());
    }
}
