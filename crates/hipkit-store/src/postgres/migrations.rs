//! PostgreSQL's versioned schema migrations, applied in order at start-up, each in its own
//! transaction, all under one session advisory lock so replicas starting together take
//! turns (the second finds everything applied).

use super::LOCK_MIGRATIONS;
use sqlx::{Connection, Executor, PgConnection};

/// (version, statements). Append only; never edit an applied migration.
pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            // `claimed_by`: the replica whose worker holds the lease (recovering after a
            // restart takes back its own leases only, never another live replica's).
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
            delivered_at BIGINT,
            claimed_by TEXT
        )",
            "CREATE INDEX outbox_queued ON outbox (next_attempt_at) WHERE state = 'queued'",
            "CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'in_flight'",
            "CREATE INDEX outbox_dead ON outbox (created_at) WHERE state = 'dead'",
            "CREATE INDEX outbox_created ON outbox (created_at, id)",
            // Keys compare as bytes (the C collation), which is Rust's `str` order.
            "CREATE TABLE kv (
            namespace TEXT COLLATE \"C\" NOT NULL,
            key TEXT COLLATE \"C\" NOT NULL,
            value TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (namespace, key)
        )",
            "CREATE TABLE last_build (
            scope TEXT NOT NULL,
            builder TEXT NOT NULL,
            build_number BIGINT NOT NULL,
            result BIGINT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (scope, builder)
        )",
            "CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            id TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE INDEX idempotency_created ON idempotency (created_at)",
            "CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), at BIGINT NOT NULL)",
        ],
    ),
    (
        // Ordered lanes: a queued record with a lane is found through `outbox_lane` (each
        // lane's active records in id order, byte-wise like Rust's), not `outbox_queued`.
        2,
        &[
            "ALTER TABLE outbox ADD COLUMN lane TEXT",
            "DROP INDEX outbox_queued",
            "CREATE INDEX outbox_queued ON outbox (next_attempt_at) \
             WHERE state = 'queued' AND lane IS NULL",
            "CREATE INDEX outbox_lane ON outbox (lane, (id COLLATE \"C\")) \
             WHERE lane IS NOT NULL AND state IN ('queued', 'in_flight')",
        ],
    ),
    (
        // Claim tokens: every claim raises `claims`; outcomes and lease renewals apply only
        // under the claim whose count they carry (a renewal moves `lease_until`, so it can
        // no longer tell claims apart).
        3,
        &["ALTER TABLE outbox ADD COLUMN claims BIGINT NOT NULL DEFAULT 0"],
    ),
    (
        // Send budgets shared by the replicas (HipChat's per-token and per-recipient limits,
        // a 429's reset): per key, the latest reservations (ascending) and the hold.
        4,
        &["CREATE TABLE rate_budget (
            key TEXT PRIMARY KEY,
            stamps BIGINT[] NOT NULL DEFAULT '{}',
            held_until BIGINT NOT NULL DEFAULT 0
        )"],
    ),
];

/// Applies every migration not yet applied, holding the migrations' advisory lock; returns
/// the version that failed with the driver's error (0: the bookkeeping itself).
pub async fn run(conn: &mut PgConnection) -> Result<(), (i64, sqlx::Error)> {
    sqlx::query("SELECT pg_advisory_lock($1, 0)")
        .bind(LOCK_MIGRATIONS)
        .execute(&mut *conn)
        .await
        .map_err(|e| (0, e))?;
    let applied = apply_all(conn).await;
    // The lock is also freed when the connection closes (as it does right after, or if the
    // process dies here): an unlock failure changes nothing.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1, 0)")
        .bind(LOCK_MIGRATIONS)
        .execute(&mut *conn)
        .await;
    applied
}

async fn apply_all(conn: &mut PgConnection) -> Result<(), (i64, sqlx::Error)> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS hipkit_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )
    .await
    .map_err(|e| (0, e))?;
    for (version, statements) in MIGRATIONS {
        apply(conn, *version, statements)
            .await
            .map_err(|e| (*version, e))?;
    }
    Ok(())
}

/// Applies one migration unless it is recorded as applied.
async fn apply(
    conn: &mut PgConnection,
    version: i64,
    statements: &[&'static str],
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let done: Option<i64> =
        sqlx::query_scalar("SELECT version FROM hipkit_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
    if done.is_some() {
        return tx.rollback().await;
    }
    for sql in statements {
        tx.execute(*sql).await?;
    }
    sqlx::query("INSERT INTO hipkit_migrations (version, applied_at) VALUES ($1, $2)")
        .bind(version)
        .bind(crate::now_millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
