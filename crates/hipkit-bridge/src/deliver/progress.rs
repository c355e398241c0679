//! Which parts of a multi-part parcel its destination already took, so that a retry after a
//! later part failed sends only the parts still missing instead of posting the earlier ones
//! again. Kept in memory and, before each later part is sent, in the store (key-value
//! namespace [`NAMESPACE`], keyed by the parcel's id): a retry after a crash or a restart
//! resumes where the last attempt stopped.

use hipkit_store::{KvStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The store's key-value namespace holding the progress of parcels cut short.
pub const NAMESPACE: &str = "hipkit-bridge-progress";

/// Most parcels with partial progress remembered in memory; beyond it the oldest knowledge
/// is dropped (the store still has it).
const REMEMBERED: usize = 10_000;

/// Parts delivered so far, by parcel id, for parcels not yet delivered whole.
pub struct Progress {
    done: Mutex<HashMap<String, usize>>,
    store: Option<Arc<dyn KvStore>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("persisted", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Progress kept in `store` (and in memory), or in memory only without one.
    pub fn new(store: Option<Arc<dyn KvStore>>) -> Self {
        Self {
            done: Mutex::new(HashMap::new()),
            store,
        }
    }

    /// How many leading parts of parcel `id` were delivered by earlier attempts of this
    /// process (memory only: for parcels of one part, which never have progress stored).
    pub fn remembered(&self, id: &str) -> usize {
        self.done
            .lock()
            .map_or(0, |done| done.get(id).copied().unwrap_or(0))
    }

    /// How many leading parts of parcel `id` were delivered by earlier attempts, of this
    /// process or of one before a restart.
    pub async fn delivered(&self, id: &str) -> Result<usize, StoreError> {
        let here = self.remembered(id);
        if here > 0 {
            return Ok(here);
        }
        let Some(store) = &self.store else {
            return Ok(0);
        };
        let stored = store.get(NAMESPACE, id).await?;
        Ok(stored
            .and_then(|v| v.as_u64())
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0))
    }

    /// Notes (durably, before the next part is sent) that the first `parts` parts of parcel
    /// `id` were delivered.
    pub async fn record(&self, id: &str, parts: usize) -> Result<(), StoreError> {
        if let Some(store) = &self.store {
            store.put(NAMESPACE, id, &serde_json::json!(parts)).await?;
        }
        if let Ok(mut done) = self.done.lock() {
            if done.len() >= REMEMBERED && !done.contains_key(id) {
                done.clear();
            }
            done.insert(id.to_owned(), parts);
        }
        Ok(())
    }

    /// Forgets parcel `id` (delivered whole); `stored` when its progress was written to the
    /// store. A failure to delete only leaves a stale entry behind (never read again: the
    /// parcel is delivered), so it is logged, not returned.
    pub async fn forget(&self, id: &str, stored: bool) {
        if let Ok(mut done) = self.done.lock() {
            done.remove(id);
        }
        if let (true, Some(store)) = (stored, &self.store)
            && let Err(e) = store.delete(NAMESPACE, id).await
        {
            tracing::warn!(error = %e, parcel = id, "bridge: cannot forget a parcel's progress");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_are_remembered_until_the_parcel_is_delivered() {
        let p = Progress::new(None);
        assert_eq!(p.delivered("a").await.unwrap(), 0);
        p.record("a", 1).await.unwrap();
        p.record("a", 2).await.unwrap();
        assert_eq!(p.delivered("a").await.unwrap(), 2);
        assert_eq!(p.remembered("a"), 2);
        p.forget("a", true).await;
        assert_eq!(p.delivered("a").await.unwrap(), 0);
    }
}
