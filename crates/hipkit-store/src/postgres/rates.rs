//! [`RateStore`] on PostgreSQL: one `rate_budget` row per key (its latest reservations as
//! an array, and its hold). A reservation locks its keys' rows in key order (so two
//! reservations never wait on each other crosswise), reads them, and writes the new slot
//! back in the same transaction; the arithmetic is [`crate::rates`]'s, shared with the
//! SQLite node.

use super::PostgresStore;
use crate::error::DbResult;
use crate::rates::{Ledger, reserve_in};
use crate::{Budget, Millis, RateStore, Reservation, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;

#[async_trait]
impl RateStore for PostgresStore {
    async fn reserve(
        &self,
        budgets: &[Budget],
        now: Millis,
        horizon_ms: i64,
    ) -> Result<Reservation, StoreError> {
        if budgets.is_empty() {
            return Ok(Reservation::Granted(now));
        }
        let mut keys: Vec<&str> = budgets.iter().map(|b| b.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut tx = self.pool.begin().await.op("rate reserve")?;
        // No WAL flush wait: the reservations of a database crash's last moments may be
        // lost (letting as many more sends into the window once), while waiting for the disk
        // on every message would make the token's row, which every send locks, the cluster's
        // bottleneck.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await
            .op("rate reserve")?;
        // Creates missing rows and locks every row, in key order, in one statement.
        let rows: Vec<(String, Vec<i64>, i64)> = sqlx::query_as(
            "INSERT INTO rate_budget (key) SELECT k FROM unnest($1::text[]) AS u(k) ORDER BY k \
             ON CONFLICT (key) DO UPDATE SET key = excluded.key \
             RETURNING key, stamps, held_until",
        )
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await
        .op("rate reserve")?;
        let mut stored: HashMap<String, Ledger> = rows
            .into_iter()
            .map(|(key, stamps, held_until)| (key, Ledger { stamps, held_until }))
            .collect();
        let mut ledgers: Vec<Ledger> = budgets
            .iter()
            .map(|b| stored.remove(&b.key).unwrap_or_default())
            .collect();
        let reservation = reserve_in(&mut ledgers, budgets, now, horizon_ms);
        if let Reservation::Granted(_) = reservation {
            let stamps: Vec<String> = ledgers.iter().map(|l| array_text(&l.stamps)).collect();
            let keys: Vec<&str> = budgets.iter().map(|b| b.key.as_str()).collect();
            sqlx::query(
                "UPDATE rate_budget b SET stamps = u.stamps::bigint[] \
                 FROM unnest($1::text[], $2::text[]) AS u(key, stamps) WHERE b.key = u.key",
            )
            .bind(&keys)
            .bind(&stamps)
            .execute(&mut *tx)
            .await
            .op("rate reserve")?;
        }
        tx.commit().await.op("rate reserve")?;
        Ok(reservation)
    }

    async fn hold(&self, key: &str, until: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rate_budget (key, held_until) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE \
             SET held_until = GREATEST(rate_budget.held_until, excluded.held_until)",
        )
        .bind(key)
        .bind(until)
        .execute(&self.pool)
        .await
        .op("rate hold")?;
        Ok(())
    }
}

/// `stamps` as a PostgreSQL array literal, `{1,2,3}` (one text per key, so keys with
/// different lengths of history go in one statement).
fn array_text(stamps: &[Millis]) -> String {
    let inner: Vec<String> = stamps.iter().map(i64::to_string).collect();
    format!("{{{}}}", inner.join(","))
}
