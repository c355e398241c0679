//! Persistence behind one trait. The [`Store`] holds the durable outbox: every accepted
//! message, its delivery state, attempts and last error. [`SqliteStore`] is the embedded
//! default; the SQL is kept portable so a PostgreSQL store can sit behind the same trait.

mod migrate;
mod record;
mod sqlite;

pub use record::{NewRecord, OutboxRecord, Outcome, State, StateCounts};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use thiserror::Error;

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database refused or failed the operation.
    #[error("database error: {0}")]
    Database(String),
    /// The database file could not be opened or migrated.
    #[error("cannot open the store at {path}: {message}")]
    Open {
        /// Where.
        path: String,
        /// Why.
        message: String,
    },
    /// A stored value could not be read back.
    #[error("corrupt record {id}: {message}")]
    Corrupt {
        /// Record id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The durable outbox.
#[async_trait]
pub trait Store: Send + Sync {
    /// Persists new records in one transaction (one commit for the batch); returns their ids
    /// in order. Only after this returns is a message accepted.
    async fn enqueue(&self, records: &[NewRecord]) -> Result<Vec<String>, StoreError>;

    /// Leases up to `limit` due records (queued and due, or in flight with an expired lease)
    /// until `now + lease_ms`, counting an attempt for each.
    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Records delivery outcomes, all in one transaction.
    async fn record(&self, outcomes: &[Outcome]) -> Result<(), StoreError>;

    /// Marks a record delivered.
    async fn mark_delivered(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.record(&[Outcome::Delivered { id, at: now }]).await
    }

    /// Puts a record back in the queue to be tried at `next_attempt_at`, keeping the error.
    async fn mark_retry(
        &self,
        id: &str,
        next_attempt_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.record(&[Outcome::Retry {
            id,
            next_attempt_at,
            error,
        }])
        .await
    }

    /// Marks a record dead (no more attempts), keeping the error.
    async fn mark_dead(&self, id: &str, error: &str, now: Millis) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.record(&[Outcome::Dead { id, error, at: now }]).await
    }

    /// Returns a leased record to the queue unchanged, giving back the attempt it counted
    /// (graceful shutdown).
    async fn release(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.record(&[Outcome::Release { id, at: now }]).await
    }

    /// One record.
    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError>;

    /// Records in creation order, optionally only in one state, at most `limit`.
    async fn list(
        &self,
        state: Option<State>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Queues a dead (or any undelivered) record again with a fresh attempt budget.
    /// Returns whether it existed and was not delivered.
    async fn requeue(&self, id: &str, now: Millis) -> Result<bool, StoreError>;

    /// Queues every dead record again; returns how many.
    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError>;

    /// Deletes delivered records delivered before `before`; returns how many.
    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError>;

    /// How many records are in each state.
    async fn counts(&self) -> Result<StateCounts, StoreError>;

    /// When the earliest queued record becomes due, if any.
    async fn next_due(&self) -> Result<Option<Millis>, StoreError>;
}
