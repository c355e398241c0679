//! Storage failures, each keeping the error that caused it.

use std::path::PathBuf;
use thiserror::Error;

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database refused or failed an operation (`op` names which one).
    #[error("database error during {op}: {source}")]
    Database {
        /// The store operation that failed, e.g. `claim` or `kv put`.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database file could not be opened.
    #[error("cannot open the store at {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A schema migration failed; the database is left at the previous version.
    #[error("cannot migrate the store at {} to version {version}: {source}", path.display())]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The migration that failed.
        version: i64,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Another process holds the database's single-writer lock.
    #[error(
        "another `hipkit serve` is using the database {} (it holds {}); \
         stop it first, or use `hipkit outbox`, which can still read the database",
        path.display(),
        lock_path(path).display()
    )]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The lock file next to the database could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored outbox record could not be read back.
    #[error("corrupt outbox record {id}: {source}")]
    Corrupt {
        /// Record id.
        id: String,
        /// What is wrong with it.
        #[source]
        source: crate::UnknownState,
    },
    /// A stored key-value entry is not valid JSON.
    #[error("corrupt value for key `{key}` in namespace `{namespace}`: {source}")]
    CorruptValue {
        /// Namespace.
        namespace: String,
        /// Key.
        key: String,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// A key-value namespace or key breaks the storage rules (empty or too long).
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidKey {
        /// `namespace` or `key`.
        what: &'static str,
        /// The offending value (shortened).
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
}

/// The sidecar lock file of a database: `<db path>.lock`.
pub fn lock_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Labels a driver error with the store operation it failed.
pub(crate) trait DbResult<T> {
    /// Wraps the error as [`StoreError::Database`] for operation `op`.
    fn op(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> DbResult<T> for Result<T, sqlx::Error> {
    fn op(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { op, source })
    }
}
