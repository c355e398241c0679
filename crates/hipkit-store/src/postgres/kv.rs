//! [`KvStore`] on PostgreSQL: values are JSON text in the `kv` table, keys in the C
//! collation (byte order).

use super::PostgresStore;
use crate::error::DbResult;
use crate::kv::{parse_entries, parse_value};
use crate::{KvStore, NamespaceSummary, StoreError, check_key, now_millis};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgConnection;
use std::collections::BTreeMap;

/// Inserts or replaces every (key, value) of `pairs` in the namespace, in one statement.
async fn upsert<'a>(
    conn: &mut PgConnection,
    namespace: &str,
    pairs: impl Iterator<Item = (&'a String, &'a Value)>,
    op: &'static str,
) -> Result<(), StoreError> {
    let (keys, values): (Vec<&str>, Vec<String>) =
        pairs.map(|(k, v)| (k.as_str(), v.to_string())).unzip();
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO kv (namespace, key, value, updated_at) \
         SELECT $1, k, v, $4 FROM unnest($2::text[], $3::text[]) AS n(k, v) \
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, \
         updated_at = excluded.updated_at",
    )
    .bind(namespace)
    .bind(keys)
    .bind(values)
    .bind(now_millis())
    .execute(conn)
    .await
    .op(op)?;
    Ok(())
}

/// Checks the namespace and every key before anything is written.
fn check_all<'a>(
    namespace: &str,
    mut keys: impl Iterator<Item = &'a String>,
) -> Result<(), StoreError> {
    check_key("namespace", namespace)?;
    keys.try_for_each(|key| check_key("key", key))
}

#[async_trait]
impl KvStore for PostgresStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT value FROM kv WHERE namespace = $1 AND key = $2")
                .bind(namespace)
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .op("kv get")?;
        text.map(|t| parse_value(namespace, key, &t)).transpose()
    }

    async fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), StoreError> {
        let op = "kv put";
        let key = key.to_owned();
        check_all(namespace, std::iter::once(&key))?;
        let mut conn = self.pool.acquire().await.op(op)?;
        upsert(&mut conn, namespace, std::iter::once((&key, value)), op).await
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM kv WHERE namespace = $1 AND key = $2")
            .bind(namespace)
            .bind(key)
            .execute(&self.pool)
            .await
            .op("kv delete")?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, namespace: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT key FROM kv WHERE namespace = $1 ORDER BY key")
            .bind(namespace)
            .fetch_all(&self.pool)
            .await
            .op("kv list")
    }

    async fn export(&self, namespace: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM kv WHERE namespace = $1 ORDER BY key")
                .bind(namespace)
                .fetch_all(&self.pool)
                .await
                .op("kv export")?;
        parse_entries(namespace, rows)
    }

    async fn import(
        &self,
        namespace: &str,
        pairs: &BTreeMap<String, Value>,
        replace: bool,
    ) -> Result<u64, StoreError> {
        let op = "kv import";
        check_all(namespace, pairs.keys())?;
        let mut tx = self.pool.begin().await.op(op)?;
        if replace {
            sqlx::query("DELETE FROM kv WHERE namespace = $1")
                .bind(namespace)
                .execute(&mut *tx)
                .await
                .op(op)?;
        }
        upsert(&mut tx, namespace, pairs.iter(), op).await?;
        tx.commit().await.op(op)?;
        Ok(pairs.len() as u64)
    }

    async fn apply(
        &self,
        namespace: &str,
        changes: &BTreeMap<String, Option<Value>>,
    ) -> Result<(), StoreError> {
        let op = "kv apply";
        check_all(namespace, changes.keys())?;
        let removals: Vec<&str> = changes
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
            .collect();
        let mut tx = self.pool.begin().await.op(op)?;
        let sets = changes.iter().filter_map(|(k, v)| Some((k, v.as_ref()?)));
        upsert(&mut tx, namespace, sets, op).await?;
        if !removals.is_empty() {
            sqlx::query("DELETE FROM kv WHERE namespace = $1 AND key = ANY($2)")
                .bind(namespace)
                .bind(removals)
                .execute(&mut *tx)
                .await
                .op(op)?;
        }
        tx.commit().await.op(op)
    }

    async fn erase(&self, namespace: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM kv WHERE namespace = $1")
            .bind(namespace)
            .execute(&self.pool)
            .await
            .op("kv erase")?;
        Ok(done.rows_affected())
    }

    async fn namespaces(&self) -> Result<Vec<NamespaceSummary>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT namespace, COUNT(*) FROM kv GROUP BY namespace ORDER BY namespace",
        )
        .fetch_all(&self.pool)
        .await
        .op("kv namespaces")?;
        Ok(rows
            .into_iter()
            .map(|(name, keys)| NamespaceSummary {
                name,
                keys: keys.max(0) as u64,
            })
            .collect())
    }
}
