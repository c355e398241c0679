//! The store contract against a fresh file-backed [`SqliteStore`] per scenario.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_store::SqliteStore;

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("contract.db"))
        .await
        .expect("open");
    (dir, store)
}

hipkit_store::contract_suite!(fresh);
