//! The `[store]` configuration section.

use crate::{DatabaseUrl, PostgresStore, SqliteStore, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[store]`: where the database lives: a SQLite file (`path`, the default) or a PostgreSQL
/// database (`url`) that several replicas share.
///
/// A `postgres://` URL given as `path` (as `HIPKIT_STORE` and `--store` set it) is taken as
/// `url`, and then wins over a `url` from elsewhere. `Debug` and serialization hide the
/// URL's password.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(from = "RawStoreConfig")]
pub struct StoreConfig {
    /// The SQLite database file (created if missing); unused when `url` is set.
    pub path: PathBuf,
    /// The PostgreSQL database (`postgres://user:password@host:port/db`), if any.
    pub url: Option<DatabaseUrl>,
    /// This process's name among the replicas sharing a PostgreSQL database (default:
    /// `<hostname>:<pid>`). A replica restarting under the same name takes back its
    /// in-flight messages at once; others' are taken over when their lease expires.
    pub replica: Option<String>,
}

/// `[store]` as written, before a URL in `path` moves to `url`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStoreConfig {
    path: PathBuf,
    url: Option<DatabaseUrl>,
    replica: Option<String>,
}

impl Default for RawStoreConfig {
    fn default() -> Self {
        let StoreConfig { path, url, replica } = StoreConfig::default();
        Self { path, url, replica }
    }
}

impl From<RawStoreConfig> for StoreConfig {
    fn from(raw: RawStoreConfig) -> Self {
        let RawStoreConfig { path, url, replica } = raw;
        match path.to_str().filter(|p| DatabaseUrl::is_url(p)) {
            Some(given) => Self {
                url: Some(DatabaseUrl::new(given)),
                path: Self::default().path,
                replica,
            },
            None => Self { path, url, replica },
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("hipkit.db"),
            url: None,
            replica: None,
        }
    }
}

impl StoreConfig {
    /// This process's replica name: `replica`, else `<hostname>:<pid>`.
    pub fn replica_name(&self) -> String {
        self.replica.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "hipkit".into());
            format!("{host}:{}", std::process::id())
        })
    }

    /// Opens the database for a tool beside `serve` (the `hipkit outbox` CLI, readers):
    /// SQLite without the single-writer lock, or PostgreSQL.
    pub async fn open(&self) -> Result<Store, StoreError> {
        match &self.url {
            Some(url) => Ok(PostgresStore::open(url, &self.replica_name()).await?.into()),
            None => Ok(SqliteStore::open(&self.path).await?.into()),
        }
    }

    /// Opens the database for `hipkit serve`: SQLite as its single writer (fails with
    /// [`StoreError::Locked`] while another process holds it), or PostgreSQL as one of its
    /// replicas, after a first commit proves it writable.
    pub async fn open_exclusive(&self) -> Result<Store, StoreError> {
        match &self.url {
            Some(url) => {
                let store = PostgresStore::open(url, &self.replica_name()).await?;
                store.probe().await?;
                Ok(store.into())
            }
            None => Ok(SqliteStore::open_exclusive(&self.path).await?.into()),
        }
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

    #[test]
    fn a_url_as_path_selects_postgres_and_never_shows_its_password() {
        let given: StoreConfig =
            serde_json::from_str(r#"{"path": "postgres://app:s3cret@db/hipkit"}"#).unwrap();
        assert_eq!(given.path, PathBuf::from("hipkit.db"));
        let url = given.url.as_ref().expect("taken as the URL");
        assert_eq!(url.expose(), "postgres://app:s3cret@db/hipkit");
        let shown = format!("{given:?} {}", serde_json::to_string(&given).unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
        let url_key: StoreConfig =
            serde_json::from_str(r#"{"url": "postgresql://app:s3cret@db/h", "replica": "a"}"#)
                .unwrap();
        assert!(url_key.url.is_some());
        assert_eq!(url_key.replica_name(), "a");
    }
}
