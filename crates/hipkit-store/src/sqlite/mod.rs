//! The embedded SQLite store: one file, WAL journal, full fsync on commit.

use crate::{Millis, NewRecord, OutboxRecord, Outcome, State, StateCounts, Store, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Executor, Row, SqliteConnection};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// An outbox in a SQLite database file.
///
/// Accepting a message is an fsync'd commit (`synchronous=FULL`): once `enqueue` returns it
/// survives a power cut. Delivery bookkeeping (claims, outcomes) commits with
/// `synchronous=NORMAL`: a power cut can undo the latest of those, which only means a message
/// is delivered again (at-least-once), never lost.
///
/// Every write goes through one connection, so writers queue in the pool instead of
/// colliding on SQLite's lock (whose busy handler sleeps); reads use their own connections
/// (WAL readers never block the writer). WAL checkpoints run on a connection of their own in
/// the background, so their I/O never stalls a commit.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    _checkpointer: Option<Arc<Checkpointer>>,
}

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
    fn start(pool: SqlitePool) -> Self {
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(CHECKPOINT_EVERY).await;
                // A failed checkpoint is not fatal: the WAL grows until the next one succeeds.
                let _ = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await;
            }
        }))
    }
}

/// The record columns, in one place (a macro so queries stay `&'static str`).
macro_rules! columns {
    () => {
        "id, destination, payload, state, attempts, next_attempt_at, lease_until, \
         last_error, created_at, updated_at, delivered_at"
    };
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let label = path.display().to_string();
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let opts = opts.synchronous(SqliteSynchronous::Normal);
        let checkpoints = pool(opts.clone(), 1, &label).await?;
        let writer = opts
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .pragma("cache_size", WRITER_CACHE_KIB);
        let writer = pool(writer, 1, &label).await?;
        crate::migrate::run(&writer)
            .await
            .map_err(|e| open_error(&label, &e))?;
        let reader = pool(opts.read_only(true), 4, &label).await?;
        Ok(Self {
            writer,
            reader,
            _checkpointer: Some(Arc::new(Checkpointer::start(checkpoints))),
        })
    }

    /// A private in-memory database (unit tests only: it vanishes with the store).
    pub async fn in_memory() -> Result<Self, StoreError> {
        let pool = pool(SqliteConnectOptions::new().in_memory(true), 1, ":memory:").await?;
        crate::migrate::run(&pool)
            .await
            .map_err(|e| open_error(":memory:", &e))?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            _checkpointer: None,
        })
    }
}

fn open_error(label: &str, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: label.to_owned(),
        message: e.to_string(),
    }
}

async fn pool(
    opts: SqliteConnectOptions,
    connections: u32,
    label: &str,
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
        .map_err(|e| open_error(label, &e))
}

fn record(row: &SqliteRow) -> Result<OutboxRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    let state = state
        .parse::<State>()
        .map_err(|message| StoreError::Corrupt {
            id: id.clone(),
            message,
        })?;
    Ok(OutboxRecord {
        destination: row.try_get("destination")?,
        payload: row.try_get("payload")?,
        state,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        delivered_at: row.try_get("delivered_at")?,
        id,
    })
}

fn records(rows: &[SqliteRow]) -> Result<Vec<OutboxRecord>, StoreError> {
    rows.iter().map(record).collect()
}

/// Inserts new records in one statement on `conn`; returns their ids. The batch travels as
/// one JSON array: sqlx costs about 0.1 ms per statement here, SQLite about 10 µs per row.
async fn insert(conn: &mut SqliteConnection, new: &[NewRecord]) -> Result<Vec<String>, StoreError> {
    // Time-ordered (v7) ids: consecutive messages sit next to each other in the primary-key
    // index, so claiming and settling a batch touches a few pages instead of one per row.
    let ids: Vec<String> = new
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let rows: Vec<serde_json::Value> = new
        .iter()
        .zip(&ids)
        .map(|(r, id)| {
            serde_json::json!({
                "id": id, "destination": r.destination, "payload": r.payload, "at": r.created_at,
            })
        })
        .collect();
    let batch = serde_json::Value::Array(rows).to_string();
    sqlx::query(
        "INSERT INTO outbox (id, destination, payload, state, attempts, next_attempt_at, \
         created_at, updated_at) SELECT json_extract(value, '$.id'), \
         json_extract(value, '$.destination'), json_extract(value, '$.payload'), 'queued', 0, \
         json_extract(value, '$.at'), json_extract(value, '$.at'), json_extract(value, '$.at') \
         FROM json_each(?)",
    )
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

/// When every outcome is a delivery: the latest delivery time.
fn all_delivered(outcomes: &[Outcome]) -> Option<Millis> {
    outcomes.iter().try_fold(0, |latest: Millis, o| match o {
        Outcome::Delivered { at, .. } => Some(latest.max(*at)),
        _ => None,
    })
}

/// Marks the records in the JSON id list delivered at `at`.
async fn mark_delivered<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    ids: &str,
    at: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'delivered', delivered_at = ?, updated_at = ?, \
         lease_until = NULL WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(at)
    .bind(at)
    .bind(ids)
    .execute(executor)
    .await?;
    Ok(())
}

/// A JSON array of ids, for `json_each`.
fn id_list<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    serde_json::Value::Array(ids.map(|id| id.into()).collect()).to_string()
}

#[async_trait]
impl Store for SqliteStore {
    async fn enqueue(&self, new: &[NewRecord]) -> Result<Vec<String>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        conn.execute("PRAGMA synchronous = FULL").await?;
        let inserted = insert(&mut conn, new).await;
        let reset = conn.execute("PRAGMA synchronous = NORMAL").await;
        let ids = inserted?;
        reset?;
        Ok(ids)
    }

    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            // Two index range scans, each already in due order and limited, instead of one
            // OR that scans and sorts the whole table. `now` is compared as `(SELECT ?)`: a
            // bare parameter compared with an indexed column makes SQLite (built with STAT4)
            // re-prepare the statement for every new value.
            "UPDATE outbox SET state = 'in_flight', lease_until = ?, attempts = attempts + 1, \
             updated_at = ? WHERE id IN (SELECT id FROM ( \
             SELECT id FROM (SELECT id FROM outbox WHERE state = 'queued' \
             AND next_attempt_at <= (SELECT ?) ORDER BY next_attempt_at LIMIT ?) \
             UNION ALL \
             SELECT id FROM (SELECT id FROM outbox WHERE state = 'in_flight' \
             AND lease_until <= (SELECT ?) ORDER BY lease_until LIMIT ?)) LIMIT ?) RETURNING ",
            columns!()
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .bind(now)
        .bind(limit as i64)
        .bind(limit as i64)
        .fetch_all(&self.writer)
        .await?;
        let mut claimed = records(&rows)?;
        claimed.sort_by_key(|r| (r.next_attempt_at, r.created_at));
        Ok(claimed)
    }

    async fn record(&self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        let mut delivered = Vec::new();
        let mut released = Vec::new();
        let mut delivered_at = 0;
        let mut released_at = 0;
        if let Some(at) = all_delivered(outcomes) {
            // The common case needs no explicit transaction: one statement is atomic.
            let ids = outcomes.iter().filter_map(|o| match o {
                Outcome::Delivered { id, .. } => Some(id.as_str()),
                _ => None,
            });
            mark_delivered(&self.writer, &id_list(ids), at).await?;
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        for outcome in outcomes {
            match outcome {
                Outcome::Delivered { id, at } => {
                    delivered.push(id.as_str());
                    delivered_at = delivered_at.max(*at);
                }
                Outcome::Release { id, at } => {
                    released.push(id.as_str());
                    released_at = released_at.max(*at);
                }
                Outcome::Retry {
                    id,
                    next_attempt_at,
                    error,
                } => {
                    sqlx::query(
                        "UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = ?, \
                         lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'in_flight'",
                    )
                    .bind(next_attempt_at)
                    .bind(error)
                    .bind(crate::now_millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                Outcome::Dead { id, error, at } => {
                    sqlx::query(
                        "UPDATE outbox SET state = 'dead', last_error = ?, lease_until = NULL, \
                         updated_at = ? WHERE id = ?",
                    )
                    .bind(error)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if !delivered.is_empty() {
            mark_delivered(&mut *tx, &id_list(delivered.into_iter()), delivered_at).await?;
        }
        if !released.is_empty() {
            sqlx::query(
                "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), \
                 lease_until = NULL, updated_at = ? WHERE state = 'in_flight' \
                 AND id IN (SELECT value FROM json_each(?))",
            )
            .bind(released_at)
            .bind(id_list(released.into_iter()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM outbox WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(record).transpose()
    }

    async fn list(
        &self,
        state: Option<State>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM outbox WHERE (? IS NULL OR state = ?) ORDER BY created_at, id LIMIT ?"
        ))
        .bind(state.map(State::as_str))
        .bind(state.map(State::as_str))
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?;
        records(&rows)
    }

    async fn requeue(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, \
             lease_until = NULL, updated_at = ? WHERE id = ? AND state <> 'delivered'",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, \
             updated_at = ? WHERE state = 'dead'",
        )
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn counts(&self) -> Result<StateCounts, StoreError> {
        // One snapshot; the active states come from their partial indexes, delivered is the rest.
        let row = self
            .reader
            .fetch_one(
                "SELECT (SELECT COUNT(*) FROM outbox) AS total, \
                 (SELECT COUNT(*) FROM outbox WHERE state = 'queued') AS queued, \
                 (SELECT COUNT(*) FROM outbox WHERE state = 'in_flight') AS in_flight, \
                 (SELECT COUNT(*) FROM outbox WHERE state = 'dead') AS dead",
            )
            .await?;
        let n = |col: &str| -> Result<u64, StoreError> {
            let v: i64 = row.try_get(col)?;
            Ok(v.max(0) as u64)
        };
        let (total, queued, in_flight, dead) =
            (n("total")?, n("queued")?, n("in_flight")?, n("dead")?);
        Ok(StateCounts {
            queued,
            in_flight,
            dead,
            delivered: total.saturating_sub(queued + in_flight + dead),
        })
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        let row = self
            .reader
            .fetch_one(
                "SELECT MIN(due) AS due FROM ( \
                 SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = 'queued' \
                 UNION ALL SELECT MIN(lease_until) FROM outbox WHERE state = 'in_flight')",
            )
            .await?;
        Ok(row.try_get("due")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(dest: &str, at: Millis) -> NewRecord {
        NewRecord {
            destination: dest.into(),
            payload: r#"{"message":"x"}"#.into(),
            created_at: at,
        }
    }

    async fn file_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("outbox.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn enqueue_claim_deliver() {
        let (_dir, s) = file_store().await;
        let ids = s
            .enqueue(&[new("room:A", 1000), new("room:B", 1001)])
            .await
            .unwrap();
        assert_eq!(ids.len(), 2);
        let claimed = s.claim(2000, 30_000, 10).await.unwrap();
        assert_eq!(
            claimed.iter().map(|r| &r.id).collect::<Vec<_>>(),
            ids.iter().collect::<Vec<_>>()
        );
        assert!(
            claimed
                .iter()
                .all(|r| r.state == State::InFlight && r.attempts == 1)
        );
        assert!(
            s.claim(2001, 30_000, 10).await.unwrap().is_empty(),
            "leased records are not claimed twice"
        );
        s.mark_delivered(&ids[0], 2500).await.unwrap();
        let got = s.get(&ids[0]).await.unwrap().unwrap();
        assert_eq!(got.state, State::Delivered);
        assert_eq!(got.delivered_at, Some(2500));
        let counts = s.counts().await.unwrap();
        assert_eq!((counts.delivered, counts.in_flight), (1, 1));
    }

    #[tokio::test]
    async fn expired_leases_are_claimed_again() {
        let (_dir, s) = file_store().await;
        let ids = s.enqueue(&[new("room:A", 0)]).await.unwrap();
        s.claim(10, 1000, 10).await.unwrap();
        assert!(s.claim(500, 1000, 10).await.unwrap().is_empty());
        let again = s.claim(1010, 1000, 10).await.unwrap();
        assert_eq!(again[0].id, ids[0]);
        assert_eq!(again[0].attempts, 2);
        assert_eq!(s.next_due().await.unwrap(), Some(2010));
    }

    #[tokio::test]
    async fn retry_dead_requeue_purge() {
        let (_dir, s) = file_store().await;
        let ids = s
            .enqueue(&[new("room:A", 0), new("room:B", 0)])
            .await
            .unwrap();
        s.claim(0, 1000, 10).await.unwrap();
        s.mark_retry(&ids[0], 5000, "503 Service Unavailable")
            .await
            .unwrap();
        s.mark_dead(&ids[1], "401 Invalid OAuth session", 10)
            .await
            .unwrap();
        assert!(
            s.claim(4999, 1000, 10).await.unwrap().is_empty(),
            "not due yet"
        );
        assert_eq!(s.next_due().await.unwrap(), Some(5000));
        let dead = s.list(Some(State::Dead), 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            dead[0].last_error.as_deref(),
            Some("401 Invalid OAuth session")
        );
        assert_eq!(s.requeue_all_dead(20).await.unwrap(), 1);
        let back = s.get(&ids[1]).await.unwrap().unwrap();
        assert_eq!((back.state, back.attempts), (State::Queued, 0));
        let claimed = s.claim(5000, 1000, 10).await.unwrap();
        assert_eq!(claimed.len(), 2);
        for r in &claimed {
            s.mark_delivered(&r.id, 6000).await.unwrap();
        }
        assert!(
            !s.requeue(&ids[0], 7000).await.unwrap(),
            "delivered records stay delivered"
        );
        assert_eq!(s.purge_delivered(6000).await.unwrap(), 0);
        assert_eq!(s.purge_delivered(6001).await.unwrap(), 2);
        assert_eq!(s.list(None, 10).await.unwrap().len(), 0);
    }

    #[tokio::test]
    async fn release_gives_the_attempt_back() {
        let s = SqliteStore::in_memory().await.unwrap();
        let ids = s.enqueue(&[new("user:@bob", 0)]).await.unwrap();
        s.claim(0, 1000, 1).await.unwrap();
        s.release(&ids[0], 1).await.unwrap();
        let r = s.get(&ids[0]).await.unwrap().unwrap();
        assert_eq!((r.state, r.attempts), (State::Queued, 0));
    }

    #[tokio::test]
    async fn reopening_keeps_records_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let ids = SqliteStore::open(&path)
            .await
            .unwrap()
            .enqueue(&[new("room:A", 0)])
            .await
            .unwrap();
        let again = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            again.get(&ids[0]).await.unwrap().unwrap().destination,
            "room:A"
        );
    }
}
