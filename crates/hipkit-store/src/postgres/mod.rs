//! The PostgreSQL store, for several `hipkit serve` replicas on one database. Its SQL and
//! its migrations are PostgreSQL's own (`FOR UPDATE SKIP LOCKED`, `unnest`, advisory locks).

mod kv;
mod last_build;
mod migrations;
mod outbox;
mod rates;
mod url;
mod wake;

pub use url::DatabaseUrl;

use crate::health::HealthCache;
use crate::{StoreError, StoreHealth, now_millis};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::sync::Arc;
use std::time::Duration;

/// Advisory lock classes (the first key of PostgreSQL's two-key advisory locks), one per
/// kind of thing serialized across replicas.
const LOCK_MIGRATIONS: i32 = 0x6869_7001;
/// Transaction locks per idempotency key (hashed): one enqueue of a key at a time.
const LOCK_IDEMPOTENCY: i32 = 0x6869_7002;
/// Transaction locks per (scope, builder) (hashed): one last-build swap at a time.
const LOCK_LAST_BUILD: i32 = 0x6869_7003;

/// Longest a health check waits for its commit: a server cut off by the network (no
/// answer, no error) turns health red within seconds too.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections per replica's pool.
const POOL_SIZE: u32 = 10;

/// How long a query waits for a free (or new) connection before failing: the database
/// going away shows as errors within seconds, not a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The outbox, integration key-value storage and reporter state in one PostgreSQL database,
/// shared by every replica that opens it.
///
/// Accepting a message is one committed transaction (PostgreSQL's `synchronous_commit`
/// decides its durability; the default waits for the WAL flush). Claims lock the rows they
/// take with `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take disjoint records.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The URL with its password hidden, for messages.
    target: String,
    /// This process's replica name: the leases its workers take carry it.
    replica: Arc<str>,
    health: HealthCache,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url`, applies migrations (under an advisory lock, so
    /// replicas starting together do not race) and opens a pool. `replica` names this
    /// process among those sharing the database (see [`crate::StoreConfig::replica`]).
    /// Errors show the URL with its password hidden.
    pub async fn open(url: &DatabaseUrl, replica: &str) -> Result<Self, StoreError> {
        let target = url.redacted();
        let opts: PgConnectOptions = url.expose().parse().map_err(|source| StoreError::Url {
            target: target.clone(),
            source,
        })?;
        let opts = opts.application_name("hipkit");
        let connect_failed = |source| StoreError::Connect {
            target: target.clone(),
            source,
        };
        // One plain connection first: an unreachable server or a refused password fails
        // here at once with the driver's reason (a pool would retry until its timeout).
        let mut conn = opts.connect().await.map_err(connect_failed)?;
        migrations::run(&mut conn)
            .await
            .map_err(|(version, source)| StoreError::MigrateRemote {
                target: target.clone(),
                version,
                source,
            })?;
        // Closing frees the session's advisory lock too; a failed close changes nothing.
        let _ = sqlx::Connection::close(conn).await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await
            .map_err(connect_failed)?;
        Ok(Self {
            pool,
            target,
            replica: Arc::from(replica),
            health: HealthCache::default(),
        })
    }

    /// The database URL with its password hidden.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// This process's replica name.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Runs the check now, uncached: a commit of the health row, within [`PROBE_TIMEOUT`].
    pub(crate) async fn probe(&self) -> Result<StoreHealth, StoreError> {
        let at = now_millis();
        let commit = sqlx::query(
            "INSERT INTO health (id, at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(at)
        .execute(&self.pool);
        tokio::time::timeout(PROBE_TIMEOUT, commit)
            .await
            .map_err(|_| StoreError::TimedOut {
                op: "health",
                after: PROBE_TIMEOUT,
            })?
            .map_err(|source| StoreError::Database {
                op: "health",
                source,
            })?;
        Ok(StoreHealth { checked_at: at })
    }

    /// The cached answer if fresh, else a new probe's (cached).
    async fn cached_health(&self) -> Result<StoreHealth, StoreError> {
        self.health.answer(self.probe()).await
    }
}
