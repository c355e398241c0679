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
    /// The PostgreSQL URL does not parse (`target` is the URL with its password hidden).
    #[error("invalid PostgreSQL URL {target}: {source}")]
    Url {
        /// The URL, password hidden.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The PostgreSQL server cannot be reached, or refused the connection.
    #[error("cannot connect to the PostgreSQL store at {target}: {source}")]
    Connect {
        /// The URL, password hidden.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A PostgreSQL schema migration failed; the schema is left at the previous version.
    #[error("cannot migrate the PostgreSQL store at {target} to version {version}: {source}")]
    MigrateRemote {
        /// The URL, password hidden.
        target: String,
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
    /// A temporary store's folder could not be created.
    #[error("cannot create a folder for a temporary store: {0}")]
    TemporaryFolder(#[source] std::io::Error),
    /// The lock file next to the database could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The database file was deleted or replaced while in use: a commit now would go into
    /// a file nobody will open again, so intake is refused.
    #[error(
        "the database file {} was deleted or replaced while hipkit was using it; \
         messages accepted now would be lost, so none are: restart hipkit to open the file \
         now at that path (or restore the original)",
        path.display()
    )]
    Gone {
        /// The database file.
        path: PathBuf,
    },
    /// The database cannot be written (file or directory permissions, read-only mount).
    #[error(
        "the database {} is read-only ({source}): make the file, its -wal and -shm files \
         and their directory writable by this user",
        path.display()
    )]
    ReadOnly {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database file is not a readable SQLite database (corrupt, or something else).
    #[error("the database {} is damaged ({source}): {RECOVER_HINT}", path.display())]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A database operation got no answer in time (a server cut off by the network).
    #[error("database {op} got no answer within {} ms", after.as_millis())]
    TimedOut {
        /// The store operation that timed out, e.g. `health`.
        op: &'static str,
        /// How long it was given.
        after: std::time::Duration,
    },
    /// The last health check failed (cached for a moment so polling stays cheap).
    #[error("the store cannot accept messages: {0}")]
    Unhealthy(#[source] std::sync::Arc<StoreError>),
    /// `recover_into` refuses to write into an existing file.
    #[error("cannot recover into {}: the file exists (give a new path)", path.display())]
    RecoverTarget {
        /// The target database file.
        path: PathBuf,
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
    /// Rows could not be encoded for the database (JSON).
    #[error("cannot encode rows during {op}: {source}")]
    Encode {
        /// The store operation, e.g. `enqueue`.
        op: &'static str,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
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

/// What to do about a damaged database, for error messages.
const RECOVER_HINT: &str = "stop hipkit, move the file aside and run \
     `hipkit outbox recover <damaged file> <new file>` to copy every readable message, \
     integration value and reporter state into a new database, then point [store] path at it";

/// The sidecar lock file of a database: `<db path>.lock`.
pub fn lock_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// SQLite's primary result codes that mean something to the operator.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_READONLY: i64 = 8;
const SQLITE_NOTADB: i64 = 26;

/// The SQLite primary result code of a driver error, if it is a database error.
fn primary_code(e: &sqlx::Error) -> Option<i64> {
    let code = e.as_database_error()?.code()?;
    Some(code.parse::<i64>().ok()? & 0xff)
}

/// Turns a driver error on the database at `path` into [`StoreError::Damaged`] or
/// [`StoreError::ReadOnly`] when it says so, else into what `otherwise` makes of it.
pub(crate) fn classify(
    path: &std::path::Path,
    source: sqlx::Error,
    otherwise: impl FnOnce(sqlx::Error) -> StoreError,
) -> StoreError {
    let path = path.to_path_buf();
    match primary_code(&source) {
        Some(SQLITE_CORRUPT | SQLITE_NOTADB) => StoreError::Damaged { path, source },
        Some(SQLITE_READONLY) => StoreError::ReadOnly { path, source },
        _ => otherwise(source),
    }
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
