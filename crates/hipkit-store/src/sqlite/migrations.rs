//! Versioned schema migrations, applied in order at start-up, each in its own transaction.

use crate::StoreError;
use sqlx::{Executor, SqlitePool};

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
];

/// Creates the bookkeeping table and applies every migration not yet applied.
pub async fn run(pool: &SqlitePool) -> Result<(), StoreError> {
    pool.execute(
        "CREATE TABLE IF NOT EXISTS hipkit_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    for (version, statements) in MIGRATIONS {
        let mut tx = pool.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM hipkit_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        for sql in *statements {
            tx.execute(*sql).await?;
        }
        sqlx::query("INSERT INTO hipkit_migrations (version, applied_at) VALUES (?, ?)")
            .bind(version)
            .bind(crate::now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
