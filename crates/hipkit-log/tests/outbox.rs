//! Through the durable outbox, a log record is a stored message like any other: it survives
//! the process (here: no workers run, and the database is reopened from its file).

use hipkit_log::FilteredRoomLayer;
use hipkit_store::{OutboxStore, SqliteStore};
use hipkit_transport::outbox::Outbox;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::Registry;
use tracing_subscriber::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sent_through_the_outbox_are_stored_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    let store: Arc<dyn OutboxStore> = Arc::new(SqliteStore::open(&path).await.expect("store"));
    let (layer, guard) = hipkit_log::builder("Ops")
        .transport(Arc::new(Outbox::new(store)))
        .build::<Registry>()
        .expect("layer");
    let layer: FilteredRoomLayer<Registry> = layer;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::error!(disk = "/var", "the disk is full");
    });
    let report = tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_secs(10)))
        .await
        .expect("shutdown");
    assert_eq!(report.lost(), 0, "{report:?}");

    let reopened = SqliteStore::open(&path).await.expect("reopen");
    let stored = reopened.list(None, 10).await.expect("list");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].destination, "room:Ops");
    assert!(
        stored[0].payload.contains("the disk is full"),
        "{}",
        stored[0].payload
    );
}
