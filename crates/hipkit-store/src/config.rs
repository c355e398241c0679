//! The `[store]` configuration section.

use crate::{SqliteStore, StoreError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[store]`: where the database lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite database file (created if missing).
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("hipkit.db"),
        }
    }
}

impl StoreConfig {
    /// Opens the database without the single-writer lock (the `hipkit outbox` CLI, readers).
    pub async fn open(&self) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.path).await
    }

    /// Opens the database as its single writer (`hipkit serve`); fails with
    /// [`StoreError::Locked`] while another process holds it.
    pub async fn open_exclusive(&self) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_exclusive(&self.path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let empty: StoreConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, StoreConfig::default());
        assert_eq!(empty.path, PathBuf::from("hipkit.db"));
        let set: StoreConfig = serde_json::from_str(r#"{"path": "/var/lib/h.db"}"#).unwrap();
        assert_eq!(set.path, PathBuf::from("/var/lib/h.db"));
        assert!(serde_json::from_str::<StoreConfig>(r#"{"pth": "x"}"#).is_err());
    }
}
