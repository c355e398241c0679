//! The store contract against a [`PostgresStore`] on a fresh database per scenario (the
//! PostgreSQL server `scripts/test` starts, or `HIPKIT_TEST_POSTGRES_URL`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_store::PostgresStore;

async fn fresh() -> ((), PostgresStore) {
    let url = hipkit_store::contract::postgres::fresh_database().await;
    let store = PostgresStore::open(&url, "contract").await.expect("open");
    ((), store)
}

hipkit_store::contract_suite!(fresh);
