//! Salvage from a damaged database: every row still readable goes into a new database,
//! and what could not be read is counted. Each table is read forwards until the first
//! unreadable page and backwards until the last one; for the outbox (a rowid table) the
//! rows in between are then tried one by one.

use super::SqliteStore;
use crate::StoreError;
use crate::error::classify;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Row};
use std::collections::BTreeMap;
use std::path::Path;

/// What was salvaged from one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableRecovery {
    /// Rows copied into the new database.
    pub copied: u64,
    /// Rows known to exist that could not be read.
    pub lost: u64,
    /// Whether every part of the table could be read or counted; when false, more rows than
    /// `lost` may be missing.
    pub complete: bool,
}

/// What [`SqliteStore::recover_into`] salvaged, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// Outbox records.
    pub outbox: TableRecovery,
    /// Integration key-value entries.
    pub kv: TableRecovery,
    /// Reporter state.
    pub last_build: TableRecovery,
    /// Idempotency keys.
    pub idempotency: TableRecovery,
}

/// A table to salvage: its name, its columns in order, its key (for scan order), and the
/// columns later migrations added (a database from before them is read with NULL there).
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    key: &'static str,
    added: &'static [&'static str],
}

const OUTBOX: Table = Table {
    name: "outbox",
    columns: &[
        "id",
        "destination",
        "payload",
        "state",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "created_at",
        "updated_at",
        "delivered_at",
        "lane",
    ],
    key: "rowid",
    added: &["lane"],
};
const KV: Table = Table {
    name: "kv",
    columns: &["namespace", "key", "value", "updated_at"],
    key: "namespace, key",
    added: &[],
};
const LAST_BUILD: Table = Table {
    name: "last_build",
    columns: &["scope", "builder", "build_number", "result", "at"],
    key: "scope, builder",
    added: &[],
};
const IDEMPOTENCY: Table = Table {
    name: "idempotency",
    columns: &["key", "fingerprint", "id", "created_at"],
    key: "key",
    added: &[],
};

impl Table {
    /// `SELECT <sort key as JSON>, <row as JSON> FROM table`, with NULL for the `missing`
    /// columns.
    fn select(&self, missing: &[&str]) -> String {
        let columns: Vec<&str> = self
            .columns
            .iter()
            .map(|c| if missing.contains(c) { "NULL" } else { c })
            .collect();
        format!(
            "SELECT json_array({}) AS k, json_array({}) AS r FROM {}",
            self.key,
            columns.join(", "),
            self.name
        )
    }

    /// The [`Table::added`] columns `conn`'s table lacks (its database predates them). A
    /// column that cannot be read for another reason (damage) fails the scans instead.
    async fn missing(&self, conn: &mut SqliteConnection) -> Vec<&'static str> {
        let mut missing = Vec::new();
        for column in self.added {
            let probe = format!("SELECT {column} FROM {} LIMIT 0", self.name);
            if let Err(sqlx::Error::Database(e)) = sqlx::query(sqlx::AssertSqlSafe(probe))
                .execute(&mut *conn)
                .await
                && e.message().starts_with("no such column")
            {
                missing.push(*column);
            }
        }
        missing
    }

    /// Inserts rows given as one JSON array of JSON row arrays.
    fn insert(&self) -> String {
        let values: Vec<String> = (0..self.columns.len())
            .map(|i| format!("json_extract(value, '$[{i}]')"))
            .collect();
        format!(
            "INSERT OR IGNORE INTO {} ({}) SELECT {} FROM json_each(?)",
            self.name,
            self.columns.join(", "),
            values.join(", ")
        )
    }
}

/// Rows read so far, by sort key (as JSON).
#[derive(Default)]
struct Salvage {
    rows: BTreeMap<String, String>,
}

/// Rowids are single-element JSON arrays: `[42]`.
fn rowid(key: &str) -> Option<i64> {
    key.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

impl Salvage {
    /// Reads `sql` until the end (`Ok`) or the first unreadable row (`Err` with the last
    /// key read before it, if any).
    async fn scan(&mut self, conn: &mut SqliteConnection, sql: &str) -> Result<(), Option<String>> {
        use futures_util::TryStreamExt;
        let mut last = None;
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch(&mut *conn);
        loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => return Ok(()),
                Err(_) => return Err(last),
            };
            let (Ok(k), Ok(r)) = (row.try_get::<String, _>("k"), row.try_get("r")) else {
                return Err(last);
            };
            self.rows.insert(k.clone(), r);
            last = Some(k);
        }
    }

    /// Tries each rowid strictly between `low` and `high` on its own; returns how many
    /// could not be read.
    async fn probe(
        &mut self,
        conn: &mut SqliteConnection,
        select: &str,
        low: i64,
        high: i64,
    ) -> u64 {
        let one = format!("{select} WHERE rowid = ?");
        let mut lost = 0;
        for id in low + 1..high {
            let row = sqlx::query(sqlx::AssertSqlSafe(one.clone()))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await;
            match row.map(|row| row.map(|row| row.try_get::<String, _>("r"))) {
                Ok(None) => {}
                Ok(Some(Ok(r))) => {
                    self.rows.insert(format!("[{id}]"), r);
                }
                Ok(Some(Err(_))) | Err(_) => lost += 1,
            }
        }
        lost
    }
}

impl SqliteStore {
    /// Copies every readable outbox record, integration value, reporter state and
    /// idempotency key from the (damaged) database at `src` into a new database at `dst`
    /// (which must not exist), and counts what could not be read. `src` is only read.
    pub async fn recover_into(src: &Path, dst: &Path) -> Result<Recovery, StoreError> {
        if dst.exists() {
            return Err(StoreError::RecoverTarget {
                path: dst.to_path_buf(),
            });
        }
        let open_failed = |source| {
            classify(src, source, |source| StoreError::Open {
                path: src.to_path_buf(),
                source,
            })
        };
        let mut from = SqliteConnectOptions::new()
            .filename(src)
            .read_only(true)
            .connect()
            .await
            .map_err(open_failed)?;
        let to = SqliteStore::open(dst).await?;
        let mut recovery = Recovery::default();
        for (table, report) in [
            (&OUTBOX, &mut recovery.outbox),
            (&KV, &mut recovery.kv),
            (&LAST_BUILD, &mut recovery.last_build),
            (&IDEMPOTENCY, &mut recovery.idempotency),
        ] {
            *report = copy(&mut from, &to, table).await?;
        }
        to.truncate_wal().await?;
        Ok(recovery)
    }
}

/// Salvages one table of `from` into `to`.
async fn copy(
    from: &mut SqliteConnection,
    to: &SqliteStore,
    table: &Table,
) -> Result<TableRecovery, StoreError> {
    let missing = table.missing(from).await;
    let select = table.select(&missing);
    let mut salvage = Salvage::default();
    let ordered = |direction| format!("{select} ORDER BY {} {direction}", table.key);
    let (lost, complete) = match salvage.scan(from, &ordered("ASC")).await {
        Ok(()) => (0, true),
        Err(forward_end) => {
            let backward_end = salvage.scan(from, &ordered("DESC")).await.err().flatten();
            // In a rowid table every row between the two scans' ends can be tried alone.
            let low = forward_end.as_deref().map_or(Some(0), rowid);
            match (
                table.key == "rowid",
                low,
                backward_end.as_deref().and_then(rowid),
            ) {
                (true, Some(low), Some(high)) => {
                    (salvage.probe(from, &select, low, high).await, true)
                }
                _ => (0, false),
            }
        }
    };
    let rows: Vec<serde_json::Value> = salvage
        .rows
        .values()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect();
    for chunk in rows.chunks(1000) {
        sqlx::query(sqlx::AssertSqlSafe(table.insert()))
            .bind(serde_json::Value::Array(chunk.to_vec()).to_string())
            .execute(&mut *to.writer.lock().await)
            .await
            .map_err(|source| StoreError::Database {
                op: "recover",
                source,
            })?;
    }
    Ok(TableRecovery {
        copied: rows.len() as u64,
        lost,
        complete,
    })
}
