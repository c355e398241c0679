//! Storage batching: the storage changes of finished calls are saved together (one
//! transaction), and only then are the calls answered. Each call's changes are checked
//! against the storage quota as it is added ([`super::super::quota`]).

use super::super::quota::Pending;
use super::super::{CallError, Returned};
use super::host::Host;
use hipkit_store::KvStore;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Finished calls whose storage changes are saved in one go.
#[derive(Default)]
pub(super) struct Batch {
    /// Each key's last state in the batch: a value, or `None` for removed.
    changes: BTreeMap<String, Option<Value>>,
    /// The calls and what they returned, in order.
    calls: Vec<(u64, Result<Value, CallError>)>,
    /// What the admitted changes do to the storage's size.
    pending: Pending,
    /// A call's changes were refused: the host's storage in memory no longer matches.
    resync: bool,
}

impl Batch {
    pub(super) fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Adds a finished call: what it returned (or its error) and its storage changes, which
    /// are left out (and the call failed) when they would exceed the host's quota.
    pub(super) fn add(
        &mut self,
        host: &Host,
        id: u64,
        result: Value,
        error: Option<String>,
        set: BTreeMap<String, Value>,
        del: Vec<String>,
    ) {
        let admitted = self.pending.admit(&host.usage(), host.quota(), &set, &del);
        if let Err(over) = admitted {
            tracing::warn!(integration = %host.name(), call = id, "{over}");
            self.resync = true;
            self.calls.push((id, Err(CallError::Quota(over))));
            return;
        }
        self.changes
            .extend(set.into_iter().map(|(k, v)| (k, Some(v))));
        self.changes.extend(del.into_iter().map(|k| (k, None)));
        self.calls
            .push((id, error.map_or(Ok(result), |e| Err(CallError::Failed(e)))));
    }

    /// Saves the changes (all in one transaction) and answers the calls.
    pub(super) async fn finish(&mut self, store: &dyn KvStore, host: &Host) {
        let changes = std::mem::take(&mut self.changes);
        let saved = store.apply(host.name(), &changes).await.map_err(Arc::new);
        let admitted = std::mem::take(&mut self.pending);
        if saved.is_ok() {
            admitted.commit(&mut host.usage());
        }
        if std::mem::take(&mut self.resync) {
            host.resync().await;
        }
        let mut pending = host.pending();
        for (id, returned) in self.calls.drain(..) {
            let outcome = match (returned, &saved) {
                (Err(e), _) => Err(e),
                (Ok(_), Err(e)) => Err(CallError::Storage(e.clone())),
                (Ok(v), Ok(())) => Ok(Returned::Value(v)),
            };
            if let Some(tx) = pending.remove(&id) {
                let _ = tx.send(outcome);
            }
        }
    }
}
