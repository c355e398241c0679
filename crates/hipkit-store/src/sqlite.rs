//! The embedded SQLite store: one file, WAL journal, full fsync on commit.

use crate::{Millis, NewRecord, OutboxRecord, State, StateCounts, Store, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Executor, Row};
use std::path::Path;
use std::time::Duration;

/// An outbox in a SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(opts, 4, &path.display().to_string()).await
    }

    /// A private in-memory database (unit tests only: it vanishes with the store).
    pub async fn in_memory() -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new().in_memory(true);
        Self::connect(opts, 1, ":memory:").await
    }

    async fn connect(
        opts: SqliteConnectOptions,
        connections: u32,
        label: &str,
    ) -> Result<Self, StoreError> {
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open {
            path: label.to_owned(),
            message: e.to_string(),
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(|e| open_err(&e))?;
        crate::migrate::run(&pool).await.map_err(|e| open_err(&e))?;
        Ok(Self { pool })
    }
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

#[async_trait]
impl Store for SqliteStore {
    async fn enqueue(&self, new: &[NewRecord]) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(new.len());
        for r in new {
            let id = uuid::Uuid::new_v4().to_string();
            sqlx::query(
                "INSERT INTO outbox (id, destination, payload, state, attempts, next_attempt_at, \
                 created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?)",
            )
            .bind(&id)
            .bind(&r.destination)
            .bind(&r.payload)
            .bind(r.created_at)
            .bind(r.created_at)
            .bind(r.created_at)
            .execute(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "UPDATE outbox SET state = 'in_flight', lease_until = ?, attempts = attempts + 1, \
             updated_at = ? WHERE id IN (SELECT id FROM outbox WHERE \
             (state = 'queued' AND next_attempt_at <= ?) OR (state = 'in_flight' AND lease_until <= ?) \
             ORDER BY next_attempt_at, created_at LIMIT ?) RETURNING ",
            columns!()
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = records(&rows)?;
        claimed.sort_by_key(|r| (r.next_attempt_at, r.created_at));
        Ok(claimed)
    }

    async fn mark_delivered(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'delivered', delivered_at = ?, updated_at = ?, \
             lease_until = NULL WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_retry(
        &self,
        id: &str,
        next_attempt_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = ?, \
             lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'in_flight'",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(crate::now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_dead(&self, id: &str, error: &str, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'dead', last_error = ?, lease_until = NULL, updated_at = ? \
             WHERE id = ?",
        )
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), \
             lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'in_flight'",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM outbox WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
        .execute(&self.pool)
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
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn counts(&self) -> Result<StateCounts, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = StateCounts::default();
        for row in rows {
            let state: String = row.try_get("state")?;
            let n: i64 = row.try_get("n")?;
            let n = n.max(0) as u64;
            match state.parse::<State>() {
                Ok(State::Queued) => counts.queued = n,
                Ok(State::InFlight) => counts.in_flight = n,
                Ok(State::Delivered) => counts.delivered = n,
                Ok(State::Dead) => counts.dead = n,
                Err(message) => {
                    return Err(StoreError::Corrupt {
                        id: "(state count)".into(),
                        message,
                    });
                }
            }
        }
        Ok(counts)
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        let row = self
            .pool
            .fetch_one(
                "SELECT MIN(CASE WHEN state = 'queued' THEN next_attempt_at \
                 WHEN state = 'in_flight' THEN lease_until END) AS due FROM outbox \
                 WHERE state IN ('queued', 'in_flight')",
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
