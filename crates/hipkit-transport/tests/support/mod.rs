//! A store wrapper for tests: holds commits until released, and can fail claims.

#![allow(dead_code)] // each test binary uses part of it

use async_trait::async_trait;
use hipkit_store::{
    Claim, Enqueued, Millis, NewRecord, OutboxRecord, OutboxStore, Outcome, Requeue, SqliteStore,
    State, StateCounts, StoreError, StoreHealth,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Notify, Semaphore};

/// A store whose commits wait for the test's go-ahead (and say when one is waiting).
pub struct Held {
    pub inner: SqliteStore,
    /// Notified when a commit starts waiting for the gate.
    pub entered: Notify,
    gate: Semaphore,
    /// Whether claims fail (as on a full disk, where `next_due` still says "overdue").
    pub fail_claims: AtomicBool,
    /// Claims attempted.
    pub claims: AtomicU64,
    /// Lease renewals (heartbeats with deliveries in progress).
    pub renewals: AtomicU64,
    /// How many records each commit held, in order.
    pub batches: std::sync::Mutex<Vec<usize>>,
}

impl Held {
    /// Lets every commit through from now on.
    pub fn release(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

#[async_trait]
impl OutboxStore for Held {
    async fn enqueue(&self, records: &[NewRecord]) -> Result<Vec<Enqueued>, StoreError> {
        self.entered.notify_one();
        let _go = self.gate.acquire().await;
        self.batches.lock().unwrap().push(records.len());
        self.inner.enqueue(records).await
    }
    async fn claim(
        &self,
        now: Millis,
        lease: i64,
        n: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        if self.fail_claims.load(Ordering::SeqCst) {
            return Err(StoreError::LockFile {
                path: "full.db".into(),
                source: std::io::Error::other("no space left on device"),
            });
        }
        self.inner.claim(now, lease, n).await
    }
    async fn record(&self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        self.inner.record(outcomes).await
    }
    async fn renew(&self, held: &[(String, Claim)], until: Millis) -> Result<u64, StoreError> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        self.inner.renew(held, until).await
    }
    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        OutboxStore::get(&self.inner, id).await
    }
    async fn list(&self, state: Option<State>, n: usize) -> Result<Vec<OutboxRecord>, StoreError> {
        OutboxStore::list(&self.inner, state, n).await
    }
    async fn requeue(&self, id: &str, now: Millis, force: bool) -> Result<Requeue, StoreError> {
        self.inner.requeue(id, now, force).await
    }
    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError> {
        self.inner.requeue_all_dead(now).await
    }
    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError> {
        self.inner.purge_delivered(before).await
    }
    async fn purge_idempotency_keys(&self, before: Millis) -> Result<u64, StoreError> {
        self.inner.purge_idempotency_keys(before).await
    }
    async fn health(&self) -> Result<StoreHealth, StoreError> {
        self.inner.health().await
    }
    async fn size_bytes(&self) -> Result<u64, StoreError> {
        self.inner.size_bytes().await
    }
    async fn compact(&self) -> Result<(), StoreError> {
        self.inner.compact().await
    }
    async fn counts(&self) -> Result<StateCounts, StoreError> {
        self.inner.counts().await
    }
    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        if self.fail_claims.load(Ordering::SeqCst) {
            // Reads still work on a full disk: something is overdue.
            return Ok(Some(0));
        }
        self.inner.next_due().await
    }
    async fn recover_leases(&self, now: Millis) -> Result<u64, StoreError> {
        self.inner.recover_leases(now).await
    }
}

pub async fn held() -> (tempfile::TempDir, Arc<Held>) {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqliteStore::open(&dir.path().join("o.db")).await.unwrap();
    let held = Held {
        inner,
        entered: Notify::new(),
        gate: Semaphore::new(0),
        fail_claims: AtomicBool::new(false),
        claims: AtomicU64::new(0),
        renewals: AtomicU64::new(0),
        batches: std::sync::Mutex::default(),
    };
    (dir, Arc::new(held))
}
