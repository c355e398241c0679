//! [`KvStore`] on SQLite: values are JSON text in the `kv` table.

use super::SqliteStore;
use crate::error::DbResult;
use crate::kv::{parse_entries, parse_value};
use crate::{KvStore, NamespaceSummary, StoreError, check_key, now_millis};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use std::collections::BTreeMap;

/// Inserts or replaces one entry on `conn`.
async fn upsert(
    conn: &mut SqliteConnection,
    namespace: &str,
    key: &str,
    value: &Value,
    op: &'static str,
) -> Result<(), StoreError> {
    check_key("key", key)?;
    sqlx::query(
        "INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, \
         updated_at = excluded.updated_at",
    )
    .bind(namespace)
    .bind(key)
    .bind(value.to_string())
    .bind(now_millis())
    .execute(conn)
    .await
    .op(op)?;
    Ok(())
}

/// Rows per statement of [`KvStore::apply`] (four parameters each, far below SQLite's limit).
const ROWS_PER_STATEMENT: usize = 250;

/// The statements that apply `changes`: multi-row upserts, then multi-key removals.
fn apply_statements(
    namespace: &str,
    changes: &BTreeMap<String, Option<Value>>,
) -> Vec<QueryBuilder<Sqlite>> {
    let now = now_millis();
    let sets: Vec<(&String, &Value)> = changes
        .iter()
        .filter_map(|(k, v)| Some((k, v.as_ref()?)))
        .collect();
    let removals: Vec<&String> = changes
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    let mut statements = Vec::new();
    for chunk in sets.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::new("INSERT INTO kv (namespace, key, value, updated_at) ");
        q.push_values(chunk, |mut row, (key, value)| {
            row.push_bind(namespace.to_owned())
                .push_bind((*key).clone())
                .push_bind(value.to_string())
                .push_bind(now);
        });
        q.push(
            " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at",
        );
        statements.push(q);
    }
    for chunk in removals.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::new("DELETE FROM kv WHERE namespace = ");
        q.push_bind(namespace.to_owned()).push(" AND key IN (");
        let mut keys = q.separated(", ");
        for key in chunk {
            keys.push_bind((*key).clone());
        }
        q.push(")");
        statements.push(q);
    }
    statements
}

#[async_trait]
impl KvStore for SqliteStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT value FROM kv WHERE namespace = ? AND key = ?")
                .bind(namespace)
                .bind(key)
                .fetch_optional(&self.reader)
                .await
                .op("kv get")?;
        text.map(|t| parse_value(namespace, key, &t)).transpose()
    }

    async fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), StoreError> {
        let op = "kv put";
        check_key("namespace", namespace)?;
        let mut conn = self.writer.lock().await;
        upsert(&mut conn, namespace, key, value, op).await
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM kv WHERE namespace = ? AND key = ?")
            .bind(namespace)
            .bind(key)
            .execute(&mut *self.writer.lock().await)
            .await
            .op("kv delete")?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, namespace: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT key FROM kv WHERE namespace = ? ORDER BY key")
            .bind(namespace)
            .fetch_all(&self.reader)
            .await
            .op("kv list")
    }

    async fn export(&self, namespace: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key")
                .bind(namespace)
                .fetch_all(&self.reader)
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
        check_key("namespace", namespace)?;
        // Every row goes through one transaction: any failure (an invalid key included)
        // drops it uncommitted, so nothing of the import is left behind.
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await.op(op)?;
        if replace {
            sqlx::query("DELETE FROM kv WHERE namespace = ?")
                .bind(namespace)
                .execute(&mut *tx)
                .await
                .op(op)?;
        }
        for (key, value) in pairs {
            upsert(&mut tx, namespace, key, value, op).await?;
        }
        tx.commit().await.op(op)?;
        Ok(pairs.len() as u64)
    }

    async fn apply(
        &self,
        namespace: &str,
        changes: &BTreeMap<String, Option<Value>>,
    ) -> Result<(), StoreError> {
        let op = "kv apply";
        check_key("namespace", namespace)?;
        for key in changes.keys() {
            check_key("key", key)?;
        }
        let mut statements = apply_statements(namespace, changes);
        if statements.is_empty() {
            return Ok(());
        }
        // One statement commits on its own (one round trip to SQLite's thread, the common
        // case of a call's few changes); more need a transaction to stay all or nothing.
        if let [single] = statements.as_mut_slice() {
            single
                .build()
                .execute(&mut *self.writer.lock().await)
                .await
                .op(op)?;
            return Ok(());
        }
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await.op(op)?;
        for statement in &mut statements {
            statement.build().execute(&mut *tx).await.op(op)?;
        }
        tx.commit().await.op(op)
    }

    async fn erase(&self, namespace: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM kv WHERE namespace = ?")
            .bind(namespace)
            .execute(&mut *self.writer.lock().await)
            .await
            .op("kv erase")?;
        Ok(done.rows_affected())
    }

    async fn namespaces(&self) -> Result<Vec<NamespaceSummary>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT namespace, COUNT(*) FROM kv GROUP BY namespace ORDER BY namespace",
        )
        .fetch_all(&self.reader)
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
