//! The store's one write connection.

use crate::StoreError;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

/// The single connection every write goes through. Writers take turns on its lock, in
/// order, instead of colliding on SQLite's lock (whose busy handler sleeps). It is held, not
/// pooled: a pool tests a connection whenever it is given back, a round trip to SQLite's
/// thread that doubled the latency of every commit.
#[derive(Debug, Clone)]
pub(super) struct Writer(Arc<Mutex<SqliteConnection>>);

impl Writer {
    /// Opens the connection with `opts`.
    pub(super) async fn open(opts: &SqliteConnectOptions, path: &Path) -> Result<Self, StoreError> {
        let conn = opts.connect().await.map_err(|source| {
            crate::error::classify(path, source, |source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })
        })?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    /// Waits for the connection (first come, first served).
    pub(super) async fn lock(&self) -> MutexGuard<'_, SqliteConnection> {
        self.0.lock().await
    }
}
