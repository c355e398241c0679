//! [`OutboxStore`] on SQLite.

use super::SqliteStore;
use crate::error::DbResult;
use crate::idempotency::{KnownKeys, plan};
use crate::record::{decode, record_columns};
use crate::{
    Claim, Enqueued, Millis, NewRecord, OutboxRecord, OutboxStore, Outcome, Requeue, State,
    StateCounts, StoreError, StoreHealth,
};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, Executor, Row, SqliteConnection};

/// The first record of every lane that has any queued or in-flight, as `heads(id)`: a
/// recursive CTE that seeks each lane in `outbox_lane` (one index seek per lane, however
/// long its queue), for the claim and `next_due`. A lane's order is its ids' order (time
/// ordered v7 UUIDs, issued in enqueue order).
macro_rules! lane_heads {
    () => {
        "WITH RECURSIVE lanes(lane) AS ( \
         SELECT MIN(lane) FROM outbox \
         WHERE lane IS NOT NULL AND state IN ('queued', 'in_flight') \
         UNION ALL \
         SELECT (SELECT MIN(lane) FROM outbox WHERE lane > lanes.lane \
         AND lane IS NOT NULL AND state IN ('queued', 'in_flight')) \
         FROM lanes WHERE lanes.lane IS NOT NULL), \
         heads(id) AS ( \
         SELECT (SELECT id FROM outbox WHERE lane = lanes.lane \
         AND lane IS NOT NULL AND state IN ('queued', 'in_flight') ORDER BY id LIMIT 1) \
         FROM lanes WHERE lanes.lane IS NOT NULL) "
    };
}

/// Reads one record.
fn record(row: &SqliteRow, op: &'static str) -> Result<OutboxRecord, StoreError> {
    decode(row, op)
}

fn records(rows: &[SqliteRow], op: &'static str) -> Result<Vec<OutboxRecord>, StoreError> {
    rows.iter().map(|row| record(row, op)).collect()
}

/// One new row as the insert reads it from its JSON array (borrowed: payloads can be large).
#[derive(serde::Serialize)]
struct NewRow<'a> {
    id: &'a str,
    destination: &'a str,
    payload: &'a str,
    at: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    lane: Option<&'a str>,
}

/// Stores new records on `conn` in one transaction; returns what became of each (see
/// [`crate::OutboxStore::enqueue`]). Rows travel as one JSON array per statement: sqlx costs
/// about 0.1 ms per statement here, SQLite about 10 µs per row.
async fn insert(
    conn: &mut SqliteConnection,
    new: &[NewRecord],
) -> Result<Vec<Enqueued>, StoreError> {
    let op = "enqueue";
    if new.is_empty() {
        return Ok(Vec::new());
    }
    // IMMEDIATE: the keys' lookup reads before the inserts write, and SQLite cannot upgrade a
    // read transaction once another connection (a checkpoint, another process) has written:
    // it answers "database is locked" at once instead of waiting. Taking the write lock first
    // waits for it under the busy timeout.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.op(op)?;
    let known = known_keys(&mut tx, new).await?;
    // Time-ordered (v7) ids: consecutive messages sit next to each other in the primary-key
    // index, so claiming and settling a batch touches a few pages instead of one per row.
    let planned = plan(new.iter().map(|r| r.idempotency.as_ref()), known, || {
        uuid::Uuid::now_v7().to_string()
    });
    let stored: Vec<(&NewRecord, &str)> = new
        .iter()
        .zip(&planned)
        .filter_map(|(r, e)| e.is_new().then_some((r, e.id())))
        .collect();
    let rows: Vec<NewRow> = stored
        .iter()
        .map(|(r, id)| NewRow {
            id,
            destination: &r.destination,
            payload: &r.payload,
            at: r.created_at,
            lane: r.lane.as_deref(),
        })
        .collect();
    let rows = serde_json::to_string(&rows).map_err(|source| StoreError::Encode { op, source })?;
    sqlx::query(
        "INSERT INTO outbox (id, destination, payload, state, attempts, next_attempt_at, \
         created_at, updated_at, lane) SELECT json_extract(value, '$.id'), \
         json_extract(value, '$.destination'), json_extract(value, '$.payload'), 'queued', 0, \
         json_extract(value, '$.at'), json_extract(value, '$.at'), json_extract(value, '$.at'), \
         json_extract(value, '$.lane') FROM json_each(?)",
    )
    .bind(rows)
    .execute(&mut *tx)
    .await
    .op(op)?;
    let keys: Vec<serde_json::Value> = stored
        .iter()
        .filter_map(|(r, id)| {
            let k = r.idempotency.as_ref()?;
            Some(serde_json::json!([k.key, k.fingerprint, id, r.created_at]))
        })
        .collect();
    if !keys.is_empty() {
        sqlx::query(
            "INSERT INTO idempotency (key, fingerprint, id, created_at) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?)",
        )
        .bind(serde_json::Value::Array(keys).to_string())
        .execute(&mut *tx)
        .await
        .op(op)?;
    }
    tx.commit().await.op(op)?;
    Ok(planned)
}

/// The stored keys among the batch's idempotency keys (none queried when it has none).
async fn known_keys(
    conn: &mut SqliteConnection,
    new: &[NewRecord],
) -> Result<KnownKeys, StoreError> {
    let keys: Vec<&str> = new
        .iter()
        .filter_map(|r| Some(r.idempotency.as_ref()?.key.as_str()))
        .collect();
    if keys.is_empty() {
        return Ok(KnownKeys::new());
    }
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT key, fingerprint, id FROM idempotency \
         WHERE key IN (SELECT value FROM json_each(?))",
    )
    .bind(id_list(keys.into_iter()))
    .fetch_all(conn)
    .await
    .op("enqueue")?;
    Ok(rows
        .into_iter()
        .map(|(key, fingerprint, id)| (key, (fingerprint, id)))
        .collect())
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
    .await
    .op("record delivered")?;
    Ok(())
}

/// A JSON array of ids, for `json_each`.
fn id_list<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    serde_json::Value::Array(ids.map(|id| id.into()).collect()).to_string()
}

/// A JSON array of `[id, token]` claims, for `json_each`.
fn claim_list<'a>(claims: impl Iterator<Item = (&'a str, Claim)>) -> String {
    let items = claims.map(|(id, c)| serde_json::json!([id, c.token]));
    serde_json::Value::Array(items.collect()).to_string()
}

/// The guard every claim-settling outcome shares: still in flight under this very claim
/// (its token bound).
macro_rules! current_claim {
    () => {
        "state = 'in_flight' AND claims = ?"
    };
}

/// The guard for a JSON list of claims ([`claim_list`], bound): records still in flight
/// under one of them.
macro_rules! current_claims {
    () => {
        "state = 'in_flight' AND (id, claims) IN (SELECT json_extract(value, '$[0]'), \
         json_extract(value, '$[1]') FROM json_each(?))"
    };
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue(&self, new: &[NewRecord]) -> Result<Vec<Enqueued>, StoreError> {
        let op = "enqueue";
        // A deleted or replaced file would take the messages with it: refuse them.
        self.check_file()?;
        let mut conn = self.writer.lock().await;
        conn.execute("PRAGMA synchronous = FULL").await.op(op)?;
        let inserted = insert(&mut conn, new).await;
        let reset = conn.execute("PRAGMA synchronous = NORMAL").await.op(op);
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
            // Two index range scans for records without a lane, each already in due order
            // and limited, instead of one OR that scans and sorts the whole table; then the
            // lanes' first records that are due. The earliest due of those win, so neither
            // a backlog without lanes nor many lanes starve the other. `now` is compared as
            // `(SELECT ?)`: a bare parameter compared with an indexed column makes SQLite
            // (built with STAT4) re-prepare the statement for every new value.
            "UPDATE outbox SET state = 'in_flight', lease_until = ?, attempts = attempts + 1, \
             claims = claims + 1, updated_at = ? WHERE id IN (",
            lane_heads!(),
            "SELECT id FROM ( \
             SELECT id, due FROM (SELECT id, next_attempt_at AS due FROM outbox \
             WHERE state = 'queued' AND lane IS NULL \
             AND next_attempt_at <= (SELECT ?) ORDER BY next_attempt_at LIMIT ?) \
             UNION ALL \
             SELECT id, due FROM (SELECT id, lease_until AS due FROM outbox \
             WHERE state = 'in_flight' AND lane IS NULL \
             AND lease_until <= (SELECT ?) ORDER BY lease_until LIMIT ?) \
             UNION ALL \
             SELECT o.id, CASE o.state WHEN 'queued' THEN o.next_attempt_at \
             ELSE o.lease_until END FROM heads JOIN outbox o ON o.id = heads.id \
             WHERE (o.state = 'queued' AND o.next_attempt_at <= (SELECT ?)) \
             OR (o.state = 'in_flight' AND o.lease_until <= (SELECT ?))) \
             ORDER BY due LIMIT ?) RETURNING ",
            record_columns!()
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .bind(now)
        .bind(limit as i64)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *self.writer.lock().await)
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
        if let Some(at) = all_delivered(outcomes) {
            // The common case needs no explicit transaction: one statement is atomic.
            let ids = outcomes.iter().filter_map(|o| match o {
                Outcome::Delivered { id, .. } => Some(id.as_str()),
                _ => None,
            });
            return mark_delivered(&mut *self.writer.lock().await, &id_list(ids), at).await;
        }
        let mut delivered = Vec::new();
        let mut released = Vec::new();
        let mut delivered_at = 0;
        let mut released_at = 0;
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await.op(op)?;
        for outcome in outcomes {
            match outcome {
                Outcome::Delivered { id, at } => {
                    delivered.push(id.as_str());
                    delivered_at = delivered_at.max(*at);
                }
                Outcome::Release { id, claim, at } => {
                    released.push((id.as_str(), *claim));
                    released_at = released_at.max(*at);
                }
                Outcome::Retry {
                    id,
                    claim,
                    next_attempt_at,
                    error,
                } => {
                    sqlx::query(concat!(
                        "UPDATE outbox SET state = 'queued', next_attempt_at = ?, \
                         last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND ",
                        current_claim!()
                    ))
                    .bind(next_attempt_at)
                    .bind(error)
                    .bind(crate::now_millis())
                    .bind(id)
                    .bind(claim.token)
                    .execute(&mut *tx)
                    .await
                    .op("record retry")?;
                }
                Outcome::Dead {
                    id,
                    claim,
                    error,
                    at,
                } => {
                    sqlx::query(concat!(
                        "UPDATE outbox SET state = 'dead', last_error = ?, lease_until = NULL, \
                         updated_at = ? WHERE id = ? AND ",
                        current_claim!()
                    ))
                    .bind(error)
                    .bind(at)
                    .bind(id)
                    .bind(claim.token)
                    .execute(&mut *tx)
                    .await
                    .op("record dead")?;
                }
            }
        }
        if !delivered.is_empty() {
            mark_delivered(&mut *tx, &id_list(delivered.into_iter()), delivered_at).await?;
        }
        if !released.is_empty() {
            sqlx::query(concat!(
                "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), \
                 lease_until = NULL, updated_at = ? WHERE ",
                current_claims!()
            ))
            .bind(released_at)
            .bind(claim_list(released.into_iter()))
            .execute(&mut *tx)
            .await
            .op("record release")?;
        }
        tx.commit().await.op(op)
    }

    async fn renew(&self, held: &[(String, Claim)], until: Millis) -> Result<u64, StoreError> {
        if held.is_empty() {
            return Ok(0);
        }
        let claims = claim_list(held.iter().map(|(id, claim)| (id.as_str(), *claim)));
        let done = sqlx::query(concat!(
            "UPDATE outbox SET lease_until = ? WHERE ",
            current_claims!()
        ))
        .bind(until)
        .bind(claims)
        .execute(&mut *self.writer.lock().await)
        .await
        .op("renew leases")?;
        Ok(done.rows_affected())
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            record_columns!(),
            " FROM outbox WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .op("get")?;
        row.as_ref().map(|row| record(row, "get")).transpose()
    }

    async fn list(
        &self,
        state: Option<State>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            record_columns!(),
            " FROM outbox WHERE (? IS NULL OR state = ?) ORDER BY created_at, id LIMIT ?"
        ))
        .bind(state.map(State::as_str))
        .bind(state.map(State::as_str))
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await
        .op("list")?;
        records(&rows, "list")
    }

    async fn requeue(&self, id: &str, now: Millis, force: bool) -> Result<Requeue, StoreError> {
        let op = "requeue";
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.op(op)?;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM outbox WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .op(op)?;
        if let Some(answer) = Requeue::refusal(id, state, force)? {
            return Ok(answer);
        }
        sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, \
             lease_until = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .op(op)?;
        tx.commit().await.op(op)?;
        Ok(Requeue::Requeued)
    }

    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, \
             updated_at = ? WHERE state = 'dead'",
        )
        .bind(now)
        .bind(now)
        .execute(&mut *self.writer.lock().await)
        .await
        .op("requeue dead")?;
        Ok(done.rows_affected())
    }

    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?")
            .bind(before)
            .execute(&mut *self.writer.lock().await)
            .await
            .op("purge")?;
        Ok(done.rows_affected())
    }

    async fn purge_idempotency_keys(&self, before: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency WHERE created_at < ?")
            .bind(before)
            .execute(&mut *self.writer.lock().await)
            .await
            .op("purge idempotency keys")?;
        Ok(done.rows_affected())
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        self.cached_health().await
    }

    async fn size_bytes(&self) -> Result<u64, StoreError> {
        Ok(self.files_size())
    }

    async fn compact(&self) -> Result<(), StoreError> {
        self.truncate_wal().await
    }

    async fn counts(&self) -> Result<StateCounts, StoreError> {
        let op = "counts";
        // One snapshot; the active states come from their partial indexes (queued records
        // with a lane from the lanes' index), delivered is the rest.
        let row = self
            .reader
            .fetch_one(
                "SELECT (SELECT COUNT(*) FROM outbox) AS total, \
                 (SELECT COUNT(*) FROM outbox WHERE state = 'queued' AND lane IS NULL) \
                 + (SELECT COUNT(*) FROM outbox WHERE lane IS NOT NULL \
                 AND state IN ('queued', 'in_flight') AND state = 'queued') AS queued, \
                 (SELECT COUNT(*) FROM outbox WHERE state = 'in_flight') AS in_flight, \
                 (SELECT COUNT(*) FROM outbox WHERE state = 'dead') AS dead",
            )
            .await
            .op(op)?;
        let n = |col: &str| -> Result<u64, StoreError> {
            let v: i64 = row.try_get(col).op(op)?;
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
        let op = "next due";
        let row = self
            .reader
            .fetch_one(concat!(
                lane_heads!(),
                "SELECT MIN(due) AS due FROM ( \
                 SELECT MIN(next_attempt_at) AS due FROM outbox \
                 WHERE state = 'queued' AND lane IS NULL \
                 UNION ALL SELECT MIN(lease_until) FROM outbox \
                 WHERE state = 'in_flight' AND lane IS NULL \
                 UNION ALL SELECT MIN(CASE o.state WHEN 'queued' THEN o.next_attempt_at \
                 ELSE o.lease_until END) FROM heads JOIN outbox o ON o.id = heads.id)"
            ))
            .await
            .op(op)?;
        row.try_get("due").op(op)
    }

    async fn recover_leases(&self, now: Millis) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?, lease_until = NULL, \
             updated_at = ? WHERE state = 'in_flight'",
        )
        .bind(now)
        .bind(now)
        .execute(&mut *self.writer.lock().await)
        .await
        .op("recover leases")?;
        Ok(done.rows_affected())
    }
}
