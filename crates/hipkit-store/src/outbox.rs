//! The durable outbox contract: what the delivery workers and the `hipkit outbox` CLI need.

use crate::StoreHealth;
use crate::{
    Claim, Enqueued, Millis, NewRecord, OutboxRecord, Outcome, Requeue, State, StateCounts,
    StoreError,
};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::Notify;

/// The durable outbox: accepted messages, their delivery state, attempts and last error.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Persists new records in one transaction (one commit for the batch); returns, in
    /// order, what became of each: a new id, or (for an idempotency key already stored,
    /// also earlier in the same batch) the stored id, without inserting it again. Only after
    /// this returns is a message accepted. Keys outlive the purge of delivered records.
    async fn enqueue(&self, records: &[NewRecord]) -> Result<Vec<Enqueued>, StoreError>;

    /// Leases up to `limit` due records (queued and due, or in flight with an expired lease)
    /// until `now + lease_ms`, counting an attempt for each; returned in due order.
    ///
    /// Lanes: a record with a [`NewRecord::lane`] is only handed out while no record of its
    /// lane accepted before it is still queued (due or waiting for a retry) or in flight, so a
    /// lane's records are delivered one at a time in acceptance (enqueue) order; an expired
    /// lease is claimed again before anything behind it. The guarantee is "delivered or
    /// dead": a dead-lettered record unblocks its lane, and one queued again (`requeue`)
    /// blocks it again. Records without a lane, and different lanes, go in parallel.
    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Records delivery outcomes, all in one transaction; outcomes whose claim is no longer
    /// current are ignored (see [`Outcome`]).
    async fn record(&self, outcomes: &[Outcome]) -> Result<(), StoreError>;

    /// Marks a record delivered.
    async fn mark_delivered(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.record(&[Outcome::Delivered { id, at: now }]).await
    }

    /// Puts a record leased under `claim` back in the queue to be tried at
    /// `next_attempt_at`, keeping the error.
    async fn mark_retry(
        &self,
        id: &str,
        claim: Claim,
        next_attempt_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.record(&[Outcome::Retry {
            id,
            claim,
            next_attempt_at,
            error,
        }])
        .await
    }

    /// Marks a record leased under `claim` dead (no more attempts), keeping the error.
    async fn mark_dead(
        &self,
        id: &str,
        claim: Claim,
        error: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.record(&[Outcome::Dead {
            id,
            claim,
            error,
            at: now,
        }])
        .await
    }

    /// Returns a record leased under `claim` to the queue unchanged, giving back the attempt
    /// it counted (graceful shutdown).
    async fn release(&self, id: &str, claim: Claim, now: Millis) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.record(&[Outcome::Release { id, claim, at: now }])
            .await
    }

    /// Extends the leases of the records still in flight under the given claims (a
    /// replica's deliveries in progress: its heartbeat) until `until`; returns how many
    /// were extended. A claim settled since, or taken over by another claim after its lease
    /// expired, is left alone.
    async fn renew(&self, held: &[(String, Claim)], until: Millis) -> Result<u64, StoreError>;

    /// One record by id, in any state.
    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError>;

    /// Records in creation order, optionally only in one state, at most `limit`.
    async fn list(
        &self,
        state: Option<State>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Queues a queued or dead record again, due at `now`, with a fresh attempt budget. A
    /// record in flight is left alone ([`Requeue::InFlight`]: its worker may be sending it
    /// right now) unless `force`; a delivered one always is. Atomic (one transaction).
    async fn requeue(&self, id: &str, now: Millis, force: bool) -> Result<Requeue, StoreError>;

    /// Queues every dead record again with a fresh attempt budget; returns how many.
    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError>;

    /// Deletes delivered records delivered before `before`; returns how many.
    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError>;

    /// Forgets idempotency keys stored before `before` (callers keep at least
    /// [`crate::IDEMPOTENCY_KEY_RETENTION`]); returns how many.
    async fn purge_idempotency_keys(&self, before: Millis) -> Result<u64, StoreError>;

    /// Proves intake can commit: the database is the one opened (not deleted or replaced)
    /// and a small write commits. Answers may be reused for a second or two, so polling is
    /// cheap. An error says why messages cannot be accepted.
    async fn health(&self) -> Result<StoreHealth, StoreError>;

    /// Bytes the store occupies on disk (SQLite: database, WAL and shared-memory files).
    async fn size_bytes(&self) -> Result<u64, StoreError>;

    /// Moves journaled changes into the database and shrinks the journal (SQLite: a
    /// TRUNCATE WAL checkpoint); for shutdown, so no large journal outlives the process.
    async fn compact(&self) -> Result<(), StoreError>;

    /// How many records are in each state (one snapshot).
    async fn counts(&self) -> Result<StateCounts, StoreError>;

    /// When the earliest record a claim could take (queued, or an in-flight lease expiring,
    /// and for a lane only its first record) becomes due, if any.
    async fn next_due(&self) -> Result<Option<Millis>, StoreError>;

    /// After a crash: puts every in-flight record this process's claims left (SQLite's
    /// single writer: every one; PostgreSQL: those claimed under this replica's name) back
    /// in the queue, due at `now`, keeping its attempt count (so a message that kills the
    /// process cannot loop forever) and its last error; returns how many. Only at start,
    /// before this process claims anything (those leases then belong to a dead process):
    /// see `SqliteStore::open_exclusive` and [`crate::StoreConfig::replica`].
    async fn recover_leases(&self, now: Millis) -> Result<u64, StoreError>;

    /// Wakes `wake` whenever another process enqueues (or requeues), for as long as
    /// `wake` lives, so idle workers need not poll for others' messages (PostgreSQL:
    /// `LISTEN/NOTIFY`). A store only one process writes (SQLite) has nothing to do: its
    /// own intake wakes its workers.
    fn wake_on_enqueue(&self, _wake: &Arc<Notify>) {}
}
