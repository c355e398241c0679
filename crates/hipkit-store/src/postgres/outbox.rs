//! [`OutboxStore`] on PostgreSQL.

use super::{LOCK_IDEMPOTENCY, PostgresStore, wake};
use crate::error::DbResult;
use crate::idempotency::{KnownKeys, plan};
use crate::record::{decode, record_columns};
use crate::{
    Claim, Enqueued, Millis, NewRecord, OutboxRecord, OutboxStore, Outcome, Requeue, State,
    StateCounts, StoreError, StoreHealth,
};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::sync::Arc;
use tokio::sync::Notify;

fn records(rows: &[PgRow], op: &'static str) -> Result<Vec<OutboxRecord>, StoreError> {
    rows.iter().map(|row| decode(row, op)).collect()
}

/// Stores new records on `conn` (inside the caller's transaction); returns what became of
/// each (see [`OutboxStore::enqueue`]). The batch travels as one array per column.
async fn insert(conn: &mut PgConnection, new: &[NewRecord]) -> Result<Vec<Enqueued>, StoreError> {
    let op = "enqueue";
    let known = known_keys(conn, new).await?;
    let planned = plan(new.iter().map(|r| r.idempotency.as_ref()), known, || {
        uuid::Uuid::now_v7().to_string()
    });
    let stored: Vec<(&NewRecord, &str)> = new
        .iter()
        .zip(&planned)
        .filter_map(|(r, e)| e.is_new().then_some((r, e.id())))
        .collect();
    let column = |f: fn(&(&NewRecord, &str)) -> String| stored.iter().map(f).collect::<Vec<_>>();
    let ats: Vec<Millis> = stored.iter().map(|(r, _)| r.created_at).collect();
    sqlx::query(
        "INSERT INTO outbox (id, destination, payload, state, attempts, next_attempt_at, \
         created_at, updated_at, lane) \
         SELECT id, destination, payload, 'queued', 0, at, at, at, lane \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[]) \
         AS n(id, destination, payload, at, lane)",
    )
    .bind(column(|(_, id)| (*id).to_owned()))
    .bind(column(|(r, _)| r.destination.clone()))
    .bind(column(|(r, _)| r.payload.clone()))
    .bind(&ats)
    .bind(
        stored
            .iter()
            .map(|(r, _)| r.lane.clone())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .op(op)?;
    let keyed: Vec<(&NewRecord, &str)> = stored
        .iter()
        .filter(|(r, _)| r.idempotency.is_some())
        .copied()
        .collect();
    if !keyed.is_empty() {
        let key = |r: &NewRecord| r.idempotency.as_ref().map(|k| k.key.clone());
        let fingerprint = |r: &NewRecord| r.idempotency.as_ref().map(|k| k.fingerprint.clone());
        sqlx::query(
            "INSERT INTO idempotency (key, fingerprint, id, created_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])",
        )
        .bind(keyed.iter().filter_map(|(r, _)| key(r)).collect::<Vec<_>>())
        .bind(
            keyed
                .iter()
                .filter_map(|(r, _)| fingerprint(r))
                .collect::<Vec<_>>(),
        )
        .bind(
            keyed
                .iter()
                .map(|(_, id)| (*id).to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(keyed.iter().map(|(r, _)| r.created_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .op(op)?;
    }
    Ok(planned)
}

/// The stored keys among the batch's idempotency keys, after taking a transaction lock on
/// each (in one order, so two batches cannot deadlock): a replica enqueueing the same key
/// at the same time waits, then finds it stored.
async fn known_keys(conn: &mut PgConnection, new: &[NewRecord]) -> Result<KnownKeys, StoreError> {
    let op = "enqueue";
    let keys: Vec<String> = new
        .iter()
        .filter_map(|r| Some(r.idempotency.as_ref()?.key.clone()))
        .collect();
    if keys.is_empty() {
        return Ok(KnownKeys::new());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock($1, h) FROM \
         (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS keys",
    )
    .bind(LOCK_IDEMPOTENCY)
    .bind(&keys)
    .execute(&mut *conn)
    .await
    .op(op)?;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT key, fingerprint, id FROM idempotency WHERE key = ANY($1)")
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await
            .op(op)?;
    Ok(rows
        .into_iter()
        .map(|(key, fingerprint, id)| (key, (fingerprint, id)))
        .collect())
}

/// `heads(id)`: the first active (queued or in-flight) record of every lane, in id order
/// (byte-wise, as the `outbox_lane` index keeps them); a lane's order is its ids' order
/// (time-ordered v7 UUIDs).
macro_rules! lane_heads {
    () => {
        "heads AS (SELECT DISTINCT ON (lane) id FROM outbox \
         WHERE lane IS NOT NULL AND state IN ('queued', 'in_flight') \
         ORDER BY lane, id COLLATE \"C\")"
    };
}

/// The guard every claim-settling outcome shares: still in flight under this very claim
/// (`$n` is the claim's token).
macro_rules! current_claim {
    ($token:literal) => {
        concat!("state = 'in_flight' AND claims = $", $token)
    };
}

/// Applies one outcome on `conn` (inside the caller's transaction).
async fn settle(conn: &mut PgConnection, outcome: &Outcome) -> Result<(), StoreError> {
    let done = match outcome {
        Outcome::Delivered { id, at } => sqlx::query(
            "UPDATE outbox SET state = 'delivered', delivered_at = $1, updated_at = $1, \
             lease_until = NULL WHERE id = $2",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *conn)
        .await
        .op("record delivered"),
        Outcome::Retry {
            id,
            claim,
            next_attempt_at,
            error,
        } => sqlx::query(concat!(
            "UPDATE outbox SET state = 'queued', next_attempt_at = $1, last_error = $2, \
             lease_until = NULL, updated_at = $3 WHERE id = $4 AND ",
            current_claim!(5)
        ))
        .bind(next_attempt_at)
        .bind(error)
        .bind(crate::now_millis())
        .bind(id)
        .bind(claim.token)
        .execute(&mut *conn)
        .await
        .op("record retry"),
        Outcome::Dead {
            id,
            claim,
            error,
            at,
        } => sqlx::query(concat!(
            "UPDATE outbox SET state = 'dead', last_error = $1, lease_until = NULL, \
             updated_at = $2 WHERE id = $3 AND ",
            current_claim!(4)
        ))
        .bind(error)
        .bind(at)
        .bind(id)
        .bind(claim.token)
        .execute(&mut *conn)
        .await
        .op("record dead"),
        Outcome::Release { id, claim, at } => sqlx::query(concat!(
            "UPDATE outbox SET state = 'queued', attempts = GREATEST(attempts - 1, 0), \
             lease_until = NULL, updated_at = $1 WHERE id = $2 AND ",
            current_claim!(3)
        ))
        .bind(at)
        .bind(id)
        .bind(claim.token)
        .execute(&mut *conn)
        .await
        .op("record release"),
    };
    done.map(|_| ())
}

impl PostgresStore {
    /// Runs `sql` with `$1` bound to `at` and returns how many rows it changed.
    async fn rows_at(
        &self,
        sql: &'static str,
        at: Millis,
        op: &'static str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(sql).bind(at).execute(&self.pool).await.op(op)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn enqueue(&self, new: &[NewRecord]) -> Result<Vec<Enqueued>, StoreError> {
        let op = "enqueue";
        if new.is_empty() {
            return Ok(Vec::new());
        }
        // One transaction (one commit) per batch: the intake queue hands over batches, so
        // concurrent requests share a commit as they do on SQLite's writer.
        let mut tx = self.pool.begin().await.op(op)?;
        let planned = insert(&mut tx, new).await?;
        sqlx::query(wake::NOTIFY).execute(&mut *tx).await.op(op)?;
        tx.commit().await.op(op)?;
        Ok(planned)
    }

    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        // Records without a lane: two index range scans in due order. Lanes: each lane's
        // first active record (id order), due, and only while no other record of its lane
        // holds a live lease (ids from replicas with skewed clocks, or batches committed
        // out of order, could otherwise put a newer first record beside one in flight).
        // The earliest due of all win. Every source locks only rows nobody else has locked
        // (another replica's claim in progress skips them rather than waiting; a lane head
        // it is taking is skipped, and the lane's next is not a head).
        let rows = sqlx::query(concat!(
            "WITH queued AS (SELECT id, next_attempt_at AS due FROM outbox \
             WHERE state = 'queued' AND lane IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED), \
             expired AS (SELECT id, lease_until AS due FROM outbox \
             WHERE state = 'in_flight' AND lane IS NULL AND lease_until <= $1 \
             ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED), \
             ",
            lane_heads!(),
            ", \
             laned AS (SELECT o.id, CASE o.state WHEN 'queued' THEN o.next_attempt_at \
             ELSE o.lease_until END AS due FROM heads JOIN outbox o ON o.id = heads.id \
             WHERE ((o.state = 'queued' AND o.next_attempt_at <= $1) \
             OR (o.state = 'in_flight' AND o.lease_until <= $1)) \
             AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.lane = o.lane \
             AND x.state = 'in_flight' AND x.id <> o.id AND x.lease_until > $1) \
             ORDER BY due LIMIT $2 FOR UPDATE OF o SKIP LOCKED), \
             picked AS (SELECT id AS picked_id FROM (SELECT id, due FROM queued \
             UNION ALL SELECT id, due FROM expired UNION ALL SELECT id, due FROM laned) \
             AS candidates ORDER BY due LIMIT $2) \
             UPDATE outbox SET state = 'in_flight', lease_until = $3, \
             attempts = attempts + 1, claims = claims + 1, updated_at = $1, claimed_by = $4 \
             FROM picked WHERE outbox.id = picked.picked_id RETURNING ",
            record_columns!()
        ))
        .bind(now)
        .bind(limit as i64)
        .bind(now + lease_ms)
        .bind(&*self.replica)
        .fetch_all(&self.pool)
        .await
        .op("claim")?;
        let mut claimed = records(&rows, "claim")?;
        claimed.sort_by(|a, b| {
            (a.next_attempt_at, a.created_at, &a.id).cmp(&(b.next_attempt_at, b.created_at, &b.id))
        });
        Ok(claimed)
    }

    async fn record(&self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        let op = "record outcomes";
        let delivered: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Delivered { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        if delivered.len() == outcomes.len() {
            // The common case: one statement, atomic on its own.
            let at = outcomes.iter().fold(0, |latest, o| match o {
                Outcome::Delivered { at, .. } => latest.max(*at),
                _ => latest,
            });
            sqlx::query(
                "UPDATE outbox SET state = 'delivered', delivered_at = $1, updated_at = $1, \
                 lease_until = NULL WHERE id = ANY($2)",
            )
            .bind(at)
            .bind(&delivered)
            .execute(&self.pool)
            .await
            .op("record delivered")?;
            return Ok(());
        }
        let mut tx = self.pool.begin().await.op(op)?;
        for outcome in outcomes {
            settle(&mut tx, outcome).await?;
        }
        tx.commit().await.op(op)
    }

    async fn renew(&self, held: &[(String, Claim)], until: Millis) -> Result<u64, StoreError> {
        if held.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = held.iter().map(|(id, _)| id.as_str()).collect();
        let tokens: Vec<i64> = held.iter().map(|(_, claim)| claim.token).collect();
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = $1 \
             FROM unnest($2::text[], $3::int8[]) AS h(id, token) \
             WHERE outbox.id = h.id AND outbox.state = 'in_flight' AND outbox.claims = h.token",
        )
        .bind(until)
        .bind(&ids)
        .bind(&tokens)
        .execute(&self.pool)
        .await
        .op("renew leases")?;
        Ok(done.rows_affected())
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            record_columns!(),
            " FROM outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .op("get")?;
        row.as_ref().map(|row| decode(row, "get")).transpose()
    }

    async fn list(
        &self,
        state: Option<State>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            record_columns!(),
            " FROM outbox WHERE ($1::text IS NULL OR state = $1) ORDER BY created_at, id LIMIT $2"
        ))
        .bind(state.map(State::as_str))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .op("list")?;
        records(&rows, "list")
    }

    async fn requeue(&self, id: &str, now: Millis, force: bool) -> Result<Requeue, StoreError> {
        let op = "requeue";
        let mut tx = self.pool.begin().await.op(op)?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM outbox WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .op(op)?;
        if let Some(answer) = Requeue::refusal(id, state, force)? {
            return Ok(answer);
        }
        sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, \
             lease_until = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .op(op)?;
        sqlx::query(wake::NOTIFY).execute(&mut *tx).await.op(op)?;
        tx.commit().await.op(op)?;
        Ok(Requeue::Requeued)
    }

    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError> {
        self.rows_at(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, \
             updated_at = $1 WHERE state = 'dead'",
            now,
            "requeue dead",
        )
        .await
    }

    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError> {
        self.rows_at(
            "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < $1",
            before,
            "purge",
        )
        .await
    }

    async fn purge_idempotency_keys(&self, before: Millis) -> Result<u64, StoreError> {
        self.rows_at(
            "DELETE FROM idempotency WHERE created_at < $1",
            before,
            "purge idempotency keys",
        )
        .await
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        self.cached_health().await
    }

    async fn size_bytes(&self) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c \
             WHERE c.relkind = 'r' AND c.relnamespace = \
             (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND c.relname IN ('outbox', 'kv', 'last_build', 'idempotency', 'health', \
             'hipkit_migrations')",
        )
        .fetch_one(&self.pool)
        .await
        .op("size")?;
        Ok(bytes.max(0) as u64)
    }

    async fn compact(&self) -> Result<(), StoreError> {
        // PostgreSQL manages its own WAL and autovacuum; nothing is left to the last process.
        Ok(())
    }

    async fn counts(&self) -> Result<StateCounts, StoreError> {
        let op = "counts";
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE state = 'queued') AS queued, \
             COUNT(*) FILTER (WHERE state = 'in_flight') AS in_flight, \
             COUNT(*) FILTER (WHERE state = 'delivered') AS delivered, \
             COUNT(*) FILTER (WHERE state = 'dead') AS dead FROM outbox",
        )
        .fetch_one(&self.pool)
        .await
        .op(op)?;
        let n = |col: &str| -> Result<u64, StoreError> {
            let v: i64 = row.try_get(col).op(op)?;
            Ok(v.max(0) as u64)
        };
        Ok(StateCounts {
            queued: n("queued")?,
            in_flight: n("in_flight")?,
            delivered: n("delivered")?,
            dead: n("dead")?,
        })
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        sqlx::query_scalar(concat!(
            "WITH ",
            lane_heads!(),
            " SELECT LEAST((SELECT MIN(next_attempt_at) FROM outbox \
             WHERE state = 'queued' AND lane IS NULL), \
             (SELECT MIN(lease_until) FROM outbox WHERE state = 'in_flight' AND lane IS NULL), \
             (SELECT MIN(CASE o.state WHEN 'queued' THEN o.next_attempt_at \
             ELSE o.lease_until END) FROM heads JOIN outbox o ON o.id = heads.id))"
        ))
        .fetch_one(&self.pool)
        .await
        .op("next due")
    }

    fn wake_on_enqueue(&self, wake: &Arc<Notify>) {
        self.listen(wake);
    }

    async fn recover_leases(&self, now: Millis) -> Result<u64, StoreError> {
        // Only this replica's leases: the others' belong to live processes (a dead one's
        // expire and are claimed again by whoever is running).
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = $1, lease_until = NULL, \
             updated_at = $1 WHERE state = 'in_flight' AND claimed_by = $2",
        )
        .bind(now)
        .bind(&*self.replica)
        .execute(&self.pool)
        .await
        .op("recover leases")?;
        Ok(done.rows_affected())
    }
}
