//! [`LastBuildStore`] on PostgreSQL: the `last_build` table.

use super::{LOCK_LAST_BUILD, PostgresStore};
use crate::error::DbResult;
use crate::{LastBuild, LastBuildStore, StoreError};
use async_trait::async_trait;

type Row = (i64, i64, i64);

fn last_build((build_number, result, at): Row) -> LastBuild {
    LastBuild {
        build_number,
        result,
        at,
    }
}

const SELECT: &str =
    "SELECT build_number, result, at FROM last_build WHERE scope = $1 AND builder = $2";

#[async_trait]
impl LastBuildStore for PostgresStore {
    async fn get_last(&self, scope: &str, builder: &str) -> Result<Option<LastBuild>, StoreError> {
        let row: Option<Row> = sqlx::query_as(SELECT)
            .bind(scope)
            .bind(builder)
            .fetch_optional(&self.pool)
            .await
            .op("get last build")?;
        Ok(row.map(last_build))
    }

    async fn put_last(
        &self,
        scope: &str,
        builder: &str,
        build: &LastBuild,
    ) -> Result<Option<LastBuild>, StoreError> {
        let op = "put last build";
        let mut tx = self.pool.begin().await.op(op)?;
        // A row lock cannot cover a row not stored yet: a transaction lock on the pair makes
        // concurrent swaps (from any replica) take turns, each seeing the previous one's.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2 || '/' || $3))")
            .bind(LOCK_LAST_BUILD)
            .bind(scope)
            .bind(builder)
            .execute(&mut *tx)
            .await
            .op(op)?;
        let previous: Option<Row> = sqlx::query_as(SELECT)
            .bind(scope)
            .bind(builder)
            .fetch_optional(&mut *tx)
            .await
            .op(op)?;
        sqlx::query(
            "INSERT INTO last_build (scope, builder, build_number, result, at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, builder) DO UPDATE SET \
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
        Ok(previous.map(last_build))
    }
}
