//! [`LastBuildStore`] on SQLite: the `last_build` table.

use super::SqliteStore;
use crate::error::DbResult;
use crate::{LastBuild, LastBuildStore, StoreError};
use async_trait::async_trait;
use sqlx::{Connection, SqliteConnection};

type Row = (i64, i64, i64);

fn last_build((build_number, result, at): Row) -> LastBuild {
    LastBuild {
        build_number,
        result,
        at,
    }
}

/// The stored build for (scope, builder) on `conn`.
async fn select(
    conn: &mut SqliteConnection,
    scope: &str,
    builder: &str,
    op: &'static str,
) -> Result<Option<LastBuild>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT build_number, result, at FROM last_build WHERE scope = ? AND builder = ?",
    )
    .bind(scope)
    .bind(builder)
    .fetch_optional(conn)
    .await
    .op(op)?;
    Ok(row.map(last_build))
}

#[async_trait]
impl LastBuildStore for SqliteStore {
    async fn get_last(&self, scope: &str, builder: &str) -> Result<Option<LastBuild>, StoreError> {
        let op = "get last build";
        let mut conn = self.reader.acquire().await.op(op)?;
        select(&mut conn, scope, builder, op).await
    }

    async fn put_last(
        &self,
        scope: &str,
        builder: &str,
        build: &LastBuild,
    ) -> Result<Option<LastBuild>, StoreError> {
        let op = "put last build";
        // IMMEDIATE takes the write lock before the read, so no other connection (another
        // process included) can write between the read and the write of this swap.
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.op(op)?;
        let previous = select(&mut tx, scope, builder, op).await?;
        sqlx::query(
            "INSERT INTO last_build (scope, builder, build_number, result, at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, builder) DO UPDATE SET \
             build_number = excluded.build_number, result = excluded.result, at = excluded.at",
        )
        .bind(scope)
        .bind(builder)
        .bind(build.build_number)
        .bind(build.result)
        .bind(build.at)
        .execute(&mut *tx)
        .await
        .op(op)?;
        tx.commit().await.op(op)?;
        Ok(previous)
    }
}
