//! The embedded SQLite store: one file, WAL journal, full fsync on commit. Its SQL and its
//! migrations are SQLite's own (`json_each`, `PRAGMA`s, scalar `MAX`).

mod health;
mod kv;
mod last_build;
mod lock;
mod migrations;
mod outbox;
mod recover;
mod writer;

pub use recover::{Recovery, TableRecovery};

use crate::StoreError;
use crate::health::HealthCache;
use health::FileIdentity;
use lock::WriterLock;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use writer::Writer;

/// The outbox, integration key-value storage and reporter state in one SQLite database file.
///
/// Accepting a message is an fsync'd commit (`synchronous=FULL`): once `enqueue` returns it
/// survives a power cut. Delivery bookkeeping (claims, outcomes) commits with
/// `synchronous=NORMAL`: a power cut can undo the latest of those, which only means a message
/// is delivered again (at-least-once), never lost.
///
/// Every write goes through one connection ([`Writer`]), so writers queue for it instead of
/// colliding on SQLite's lock (whose busy handler sleeps); reads use their own connections
/// (WAL readers never block the writer). WAL checkpoints run on a connection of their own in
/// the background, so their I/O never stalls a commit.
///
/// Opened with [`SqliteStore::open_exclusive`], the store (all its clones) also holds the
/// database's single-writer lock until the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Writer,
    reader: SqlitePool,
    /// The checkpoints' own connection (file-backed stores).
    checkpoints: Option<SqlitePool>,
    /// The database file as opened (file-backed stores): intake stops if it changes.
    identity: Option<Arc<FileIdentity>>,
    /// The path, for messages.
    label: PathBuf,
    health: HealthCache,
    _checkpointer: Option<Arc<Checkpointer>>,
    _lock: Option<Arc<WriterLock>>,
    /// The folder of a temporary store, removed with the last clone.
    _temporary: Option<Arc<tempfile::TempDir>>,
    /// Send budgets: in memory, since one process delivers from a SQLite database.
    rates: Arc<crate::MemoryRates>,
}

/// The WAL is cut back to this size whenever a checkpoint has copied all of it.
pub const JOURNAL_SIZE_LIMIT: u64 = 8 << 20;

/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The writer's page cache (negative: KiB). A backlog's hot pages fit, so claims and
/// outcomes do not re-read pages from the OS cache.
const WRITER_CACHE_KIB: &str = "-8192";

/// The background checkpoint task; stops when the last store clone is dropped.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// Copies the WAL into the database every [`CHECKPOINT_EVERY`] without blocking anyone;
    /// when a whole tick added nothing and everything is copied (the writer is idle),
    /// truncates the WAL file.
    fn start(pool: SqlitePool) -> Self {
        Self(tokio::spawn(async move {
            let mut last_frames = 0;
            loop {
                tokio::time::sleep(CHECKPOINT_EVERY).await;
                // A failed checkpoint is not fatal: the WAL grows until the next one succeeds.
                let Ok((busy, frames, copied)) = checkpoint(&pool, Mode::Passive).await else {
                    continue;
                };
                let idle = busy == 0 && frames > 0 && frames == copied && frames == last_frames;
                last_frames = frames;
                if idle {
                    let _ = checkpoint(&pool, Mode::Truncate).await;
                    last_frames = 0;
                }
            }
        }))
    }
}

/// How far a checkpoint goes.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Copies what it can without waiting for anyone.
    Passive,
    /// Copies everything (waiting for readers) and empties the WAL file.
    Truncate,
}

/// Runs `PRAGMA wal_checkpoint`: (busy, WAL frames, frames copied).
async fn checkpoint(pool: &SqlitePool, mode: Mode) -> Result<(i64, i64, i64), sqlx::Error> {
    let sql = match mode {
        Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Mode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    sqlx::query_as(sql).fetch_one(pool).await
}

impl SqliteStore {
    /// A TRUNCATE checkpoint: everything in the WAL goes into the database and the WAL file
    /// is emptied (unless a reader still needs it; the next idle moment retries).
    async fn truncate_wal(&self) -> Result<(), StoreError> {
        let Some(pool) = &self.checkpoints else {
            return Ok(());
        };
        let failed = |source| StoreError::Database {
            op: "checkpoint",
            source,
        };
        // An empty WAL has nothing to truncate (and TRUNCATE could wait on a busy handler).
        let (_, frames, _) = checkpoint(pool, Mode::Passive).await.map_err(failed)?;
        if frames > 0 {
            checkpoint(pool, Mode::Truncate).await.map_err(failed)?;
        }
        Ok(())
    }

    /// Opens (creating if needed) the database at `path` and applies migrations, without the
    /// single-writer lock: for `hipkit outbox` and other tools that may run beside `serve`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, None).await
    }

    /// Opens the database as its single writer (`hipkit serve`): takes an exclusive,
    /// non-blocking advisory lock on `<path>.lock`, held by the store and its clones until
    /// the last is dropped (the OS frees it when the process dies, even by `kill -9`).
    /// Fails at once with [`StoreError::Locked`] while another process holds it. Holding
    /// it, [`crate::OutboxStore::recover_leases`] may treat every lease as abandoned.
    pub async fn open_exclusive(path: &Path) -> Result<Self, StoreError> {
        let lock = WriterLock::acquire(path).await?;
        let store = Self::open_with(path, Some(Arc::new(lock))).await?;
        // The single writer must be able to write: say so now, not at the first message.
        store.probe().await?;
        Ok(store)
    }

    async fn open_with(path: &Path, lock: Option<Arc<WriterLock>>) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT.to_string())
            .busy_timeout(Duration::from_secs(10));
        let opts = opts.synchronous(SqliteSynchronous::Normal);
        let checkpoints = pool(opts.clone(), 1, path).await?;
        let writer = opts
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .pragma("cache_size", WRITER_CACHE_KIB);
        let writer = Writer::open(&writer, path).await?;
        migrations::run(&mut *writer.lock().await, path).await?;
        let reader = pool(opts.read_only(true), 4, path).await?;
        Ok(Self {
            writer,
            reader,
            identity: Some(Arc::new(FileIdentity::remember(path)?)),
            label: path.to_path_buf(),
            health: HealthCache::default(),
            _checkpointer: Some(Arc::new(Checkpointer::start(checkpoints.clone()))),
            checkpoints: Some(checkpoints),
            _lock: lock,
            _temporary: None,
            rates: Arc::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.label
    }

    /// A private database in a temporary folder, removed with the store's last clone (for
    /// tests).
    pub async fn temporary() -> Result<Self, StoreError> {
        let folder = tempfile::Builder::new()
            .prefix("hipkit-store-")
            .tempdir()
            .map_err(StoreError::TemporaryFolder)?;
        let mut store = Self::open_with(&folder.path().join("hipkit.db"), None).await?;
        store._temporary = Some(Arc::new(folder));
        Ok(store)
    }
}

async fn pool(
    opts: SqliteConnectOptions,
    connections: u32,
    path: &Path,
) -> Result<SqlitePool, StoreError> {
    SqlitePoolOptions::new()
        // A local file needs no liveness ping on every checkout (it cost ~0.2 ms per query).
        .test_before_acquire(false)
        .max_connections(connections)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(opts)
        .await
        .map_err(|source| {
            crate::error::classify(path, source, |source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })
        })
}

#[async_trait::async_trait]
impl crate::RateStore for SqliteStore {
    async fn reserve(
        &self,
        budgets: &[crate::Budget],
        now: crate::Millis,
        horizon_ms: i64,
    ) -> Result<crate::Reservation, StoreError> {
        self.rates.reserve(budgets, now, horizon_ms).await
    }

    async fn hold(&self, key: &str, until: crate::Millis) -> Result<(), StoreError> {
        self.rates.hold(key, until).await
    }
}
