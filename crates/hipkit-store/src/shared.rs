//! [`Store`]: one opened database behind every narrow trait, and [`SharedStore`], the
//! `[store]` database a process opens once, at its first need, for everyone who asks.

use crate::{
    KvStore, LastBuildStore, OutboxStore, PostgresStore, RateStore, SqliteStore, StoreConfig,
    StoreError,
};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// One opened database (one pool) seen through each trait a consumer may ask for.
#[derive(Clone)]
pub struct Store {
    /// The durable outbox.
    pub outbox: Arc<dyn OutboxStore>,
    /// Integration key-value storage.
    pub kv: Arc<dyn KvStore>,
    /// The build reporters' previous results.
    pub last_builds: Arc<dyn LastBuildStore>,
    /// Send budgets shared by everyone delivering from this database.
    pub rates: Arc<dyn RateStore>,
    label: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Which backend and where, for banners and logs: `SQLite hipkit.db` (a URL's
    /// password hidden).
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl Store {
    /// One backend behind every trait, labelled `label`.
    fn of<T>(db: T, label: String) -> Self
    where
        T: OutboxStore + KvStore + LastBuildStore + RateStore + Clone + 'static,
    {
        Self {
            outbox: Arc::new(db.clone()),
            kv: Arc::new(db.clone()),
            rates: Arc::new(db.clone()),
            last_builds: Arc::new(db),
            label,
        }
    }
}

impl From<SqliteStore> for Store {
    fn from(db: SqliteStore) -> Self {
        let label = format!("SQLite {}", db.path().display());
        Self::of(db, label)
    }
}

impl From<PostgresStore> for Store {
    fn from(db: PostgresStore) -> Self {
        let label = format!("PostgreSQL {} (replica {})", db.target(), db.replica());
        Self::of(db, label)
    }
}

/// The `[store]` database, opened as its single writer at the first [`SharedStore::get`]
/// and the same object for every later caller; a process that never asks never creates it.
#[derive(Debug, Clone)]
pub struct SharedStore {
    config: StoreConfig,
    opened: Arc<OnceCell<Store>>,
}

impl SharedStore {
    /// The database `config` names, not opened yet.
    pub fn new(config: StoreConfig) -> Self {
        Self {
            config,
            opened: Arc::new(OnceCell::new()),
        }
    }

    /// The store, opened now if nobody has yet ([`StoreError::Locked`] while another
    /// process holds it); a failed open is tried again by the next caller.
    pub async fn get(&self) -> Result<Store, StoreError> {
        self.opened
            .get_or_try_init(|| async { self.config.open_exclusive().await })
            .await
            .cloned()
    }
}
