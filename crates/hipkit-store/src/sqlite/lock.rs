//! The single-writer rule: an exclusive advisory lock on `<database>.lock`.
//!
//! The lock lives on a sidecar file, never on the database itself: SQLite takes POSIX locks
//! on the database, and closing any descriptor of that file would drop them. The OS frees
//! the lock when the process dies, however it dies.

use crate::{StoreError, lock_path};
use fs4::{FileExt, TryLockError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// An exclusive lock on a database's lock file, held until dropped.
#[derive(Debug)]
pub(super) struct WriterLock {
    /// Closing the file releases the lock.
    _file: File,
}

impl WriterLock {
    /// Takes the lock for the database at `db` without waiting: [`StoreError::Locked`] when
    /// another holder has it.
    pub(super) async fn acquire(db: &Path) -> Result<Self, StoreError> {
        let path = lock_path(db);
        let failed = |source| StoreError::LockFile {
            path: path.clone(),
            source,
        };
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .await
            .map_err(failed)?
            .into_std()
            .await;
        // Non-blocking: one system call, fine on the runtime thread.
        // Called through the trait: std's inherent `File::try_lock` needs a newer Rust.
        match FileExt::try_lock(&file) {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(locked(db)),
            Err(TryLockError::Error(e)) => Err(failed(e)),
        }
    }
}

fn locked(db: &Path) -> StoreError {
    StoreError::Locked {
        path: PathBuf::from(db),
    }
}
