//! SQLite's versioned schema migrations, applied in order at start-up, each in its own
//! transaction. Other backends keep their own.

use crate::StoreError;
use sqlx::{Connection, Executor, SqliteConnection};
use std::path::Path;

/// (version, statements). Append only; never edit an applied migration.
pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            destination TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            lease_until BIGINT,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            delivered_at BIGINT
        )",
            "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
            "CREATE INDEX outbox_lease ON outbox (state, lease_until)",
            "CREATE INDEX outbox_created ON outbox (created_at)",
        ],
    ),
    (
        // Partial indexes: a delivered message leaves every hot index, so each state change
        // touches one or two small indexes instead of two that hold the whole history.
        2,
        &[
            "DROP INDEX outbox_due",
            "DROP INDEX outbox_lease",
            "CREATE INDEX outbox_queued ON outbox (next_attempt_at) WHERE state = 'queued'",
            "CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'in_flight'",
            "CREATE INDEX outbox_dead ON outbox (created_at) WHERE state = 'dead'",
        ],
    ),
    (
        // Integration key-value storage and the build reporters' last result per builder.
        // Keys compare as bytes (BINARY collation), which is Rust's `str` order.
        3,
        &[
            "CREATE TABLE kv (
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (namespace, key)
        ) WITHOUT ROWID",
            "CREATE TABLE last_build (
            scope TEXT NOT NULL,
            builder TEXT NOT NULL,
            build_number BIGINT NOT NULL,
            result BIGINT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (scope, builder)
        ) WITHOUT ROWID",
        ],
    ),
    (
        // Idempotency keys, apart from the outbox so purging delivered records keeps them.
        4,
        &[
            "CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            id TEXT NOT NULL,
            created_at BIGINT NOT NULL
        ) WITHOUT ROWID",
            "CREATE INDEX idempotency_created ON idempotency (created_at)",
        ],
    ),
    (
        // One row the health check rewrites: proof that a commit goes through.
        5,
        &["CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), at BIGINT NOT NULL)"],
    ),
    (
        // Ordered lanes. A queued record with a lane lives in `outbox_lane` instead of
        // `outbox_queued` (one index entry each, as before), so claims scan neither the
        // other's backlog; `outbox_lane` yields each lane's first record with one seek.
        6,
        &[
            "ALTER TABLE outbox ADD COLUMN lane TEXT",
            "DROP INDEX outbox_queued",
            "CREATE INDEX outbox_queued ON outbox (next_attempt_at) \
             WHERE state = 'queued' AND lane IS NULL",
            "CREATE INDEX outbox_lane ON outbox (lane, id, state) \
             WHERE lane IS NOT NULL AND state IN ('queued', 'in_flight')",
        ],
    ),
    (
        // Claim tokens: every claim raises `claims`; outcomes and lease renewals apply only
        // under the claim whose count they carry (a renewal moves `lease_until`, so it can
        // no longer tell claims apart).
        7,
        &["ALTER TABLE outbox ADD COLUMN claims BIGINT NOT NULL DEFAULT 0"],
    ),
];

/// Creates the bookkeeping table (reported as version 0 if that fails) and applies every
/// migration not yet applied.
pub async fn run(conn: &mut SqliteConnection, path: &Path) -> Result<(), StoreError> {
    let failed = |version: i64| {
        move |source| {
            crate::error::classify(path, source, |source| StoreError::Migrate {
                path: path.to_path_buf(),
                version,
                source,
            })
        }
    };
    conn.execute(
        "CREATE TABLE IF NOT EXISTS hipkit_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )
    .await
    .map_err(failed(0))?;
    for (version, statements) in MIGRATIONS {
        apply(conn, *version, statements)
            .await
            .map_err(failed(*version))?;
    }
    Ok(())
}

/// Applies one migration unless it is recorded as applied.
async fn apply(
    conn: &mut SqliteConnection,
    version: i64,
    statements: &[&'static str],
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let done: Option<i64> =
        sqlx::query_scalar("SELECT version FROM hipkit_migrations WHERE version = ?")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
    if done.is_some() {
        // Ended now, not at the connection's next use: an open read transaction would
        // hold back checkpoints until then.
        return tx.rollback().await;
    }
    for sql in statements {
        tx.execute(*sql).await?;
    }
    sqlx::query("INSERT INTO hipkit_migrations (version, applied_at) VALUES (?, ?)")
        .bind(version)
        .bind(crate::now_millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_from_before_migration_3_opens_and_keeps_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut conn = sqlx::ConnectOptions::connect(&opts).await.unwrap();
        conn.execute(
            "CREATE TABLE hipkit_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .unwrap();
        for (version, statements) in &MIGRATIONS[..2] {
            apply(&mut conn, *version, statements).await.unwrap();
        }
        conn.execute(
            "INSERT INTO outbox (id, destination, payload, state, next_attempt_at, created_at, \
             updated_at) VALUES ('old', 'room:A', '{}', 'queued', 0, 0, 0)",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();

        let store = crate::SqliteStore::open(&path).await.unwrap();
        let old = crate::OutboxStore::get(&store, "old")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.destination, "room:A");
        crate::KvStore::put(&store, "ns", "k", &serde_json::json!(1))
            .await
            .unwrap();
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM hipkit_migrations ORDER BY version")
                .fetch_all(&store.reader)
                .await
                .unwrap();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7]);
    }
}
