//! The SQLite store's health: the database file is still the one opened (not deleted or
//! replaced), and a commit to a one-row table goes through (not read-only, full or
//! damaged). Answers are cached for a moment so `/healthz` polling stays cheap.

use super::SqliteStore;
use crate::error::classify;
use crate::{StoreError, StoreHealth, now_millis};
use std::path::{Path, PathBuf};

/// The database file as opened: its path and (device, inode).
#[derive(Debug)]
pub(super) struct FileIdentity {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

/// (device, inode) of the file at `path`; `None` where the platform has no such notion.
fn file_id(path: &Path) -> std::io::Result<Option<(u64, u64)>> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(Some((meta.dev(), meta.ino())))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

impl FileIdentity {
    /// Remembers the file now at `path`.
    pub(super) fn remember(path: &Path) -> Result<Self, StoreError> {
        let id = file_id(path).map_err(|_| StoreError::Gone {
            path: path.to_path_buf(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            id,
        })
    }

    /// [`StoreError::Gone`] when the path no longer names the file opened.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        match file_id(&self.path) {
            Ok(now) if now == self.id => Ok(()),
            _ => Err(StoreError::Gone {
                path: self.path.clone(),
            }),
        }
    }
}

impl SqliteStore {
    /// The file identity check, for stores backed by a file.
    pub(super) fn check_file(&self) -> Result<(), StoreError> {
        self.identity.as_ref().map_or(Ok(()), |id| id.check())
    }

    /// Runs the checks now, uncached: the file identity, then a commit of the health row.
    pub(super) async fn probe(&self) -> Result<StoreHealth, StoreError> {
        self.check_file()?;
        let at = now_millis();
        sqlx::query(
            "INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(at)
        .execute(&mut *self.writer.lock().await)
        .await
        .map_err(|source| {
            classify(&self.label, source, |source| StoreError::Database {
                op: "health",
                source,
            })
        })?;
        Ok(StoreHealth { checked_at: at })
    }

    /// The cached answer if fresh, else a new probe's (cached).
    pub(super) async fn cached_health(&self) -> Result<StoreHealth, StoreError> {
        self.health.answer(self.probe()).await
    }

    /// Bytes on disk: the database, its WAL and its shared-memory file.
    pub(super) fn files_size(&self) -> u64 {
        let Some(identity) = &self.identity else {
            return 0;
        };
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut name = identity.path.as_os_str().to_owned();
                name.push(suffix);
                std::fs::metadata(PathBuf::from(name)).ok()
            })
            .map(|m| m.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutboxStore;
    use sqlx::Executor;

    #[tokio::test]
    async fn a_store_that_cannot_write_is_unhealthy_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("h.db")).await.unwrap();
        // What a read-only file looks like to SQLite (chmod does not stop root, who runs CI).
        store
            .writer
            .lock()
            .await
            .execute("PRAGMA query_only = 1")
            .await
            .unwrap();
        let err = store.health().await.unwrap_err();
        match &err {
            StoreError::Unhealthy(cause) => {
                assert!(matches!(**cause, StoreError::ReadOnly { .. }), "{cause}")
            }
            other => panic!("expected Unhealthy(ReadOnly), got {other:?}"),
        }
        assert!(err.to_string().contains("read-only"), "{err}");
        store
            .writer
            .lock()
            .await
            .execute("PRAGMA query_only = 0")
            .await
            .unwrap();
        assert!(store.health().await.is_err(), "cached for a moment");
        assert!(store.probe().await.is_ok(), "a new probe sees the recovery");
    }
}
