//! Persistence for hipkit: one backend object implementing small traits, one per need.
//!
//! - [`OutboxStore`]: the durable outbox (accepted messages, delivery state, attempts,
//!   last error, dead letters).
//! - [`KvStore`]: JSON values per (namespace, key) for slash-command integrations.
//! - [`LastBuildStore`]: the build reporters' last result per builder.
//! - [`RateStore`]: send budgets (HipChat's limits, a 429's reset) shared by every process
//!   delivering with one token.
//!
//! Consumers ask for the narrow trait they need (`Arc<dyn OutboxStore>` ...), never for SQL.
//! [`SqliteStore`] is the embedded default and implements all three; [`PostgresStore`] does
//! too, for several replicas on one database. Each backend has its own SQL and its own
//! migrations (SQLite's use `json_each`, `PRAGMA`s and scalar `MAX`; PostgreSQL's
//! `unnest`, `FOR UPDATE SKIP LOCKED` and advisory locks), and both pass the same contract
//! suite (the `contract` feature).

mod config;
mod error;
mod health;
mod idempotency;
mod kv;
mod last_build;
mod outbox;
mod postgres;
mod rates;
mod record;
mod shared;
mod sqlite;

#[cfg(feature = "contract")]
pub mod contract;

pub use config::StoreConfig;
pub use error::{StoreError, lock_path};
pub use health::StoreHealth;
pub use idempotency::{Enqueued, IDEMPOTENCY_KEY_RETENTION, IdempotencyKey};
pub use kv::{KvStore, MAX_KEY_BYTES, NamespaceSummary, check_key};
pub use last_build::{LastBuild, LastBuildStore};
pub use outbox::OutboxStore;
pub use postgres::{DatabaseUrl, PostgresStore};
pub use rates::{Budget, MemoryRates, RateStore, Reservation};
pub use record::{
    Claim, NewRecord, OutboxRecord, Outcome, Requeue, State, StateCounts, UnknownState,
};
pub use shared::{SharedStore, Store};
pub use sqlite::{JOURNAL_SIZE_LIMIT, Recovery, SqliteStore, TableRecovery};

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
