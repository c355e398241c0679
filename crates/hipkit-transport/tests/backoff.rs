//! A failing store is not hammered: the workers back off their claims.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod support;

use hipkit_transport::MemoryTransport;
use hipkit_transport::outbox::{DeliveryMetrics, Outbox, WorkerConfig};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

#[tokio::test]
async fn failing_claims_back_off() {
    let (_dir, store) = support::held().await;
    // Paused once the database is open (sqlx's own timeouts need a running clock).
    tokio::time::pause();
    store.fail_claims.store(true, Ordering::SeqCst);
    let outbox = Outbox::new(store.clone());
    let config = WorkerConfig {
        idle_poll: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let workers = outbox.workers(
        Arc::new(MemoryTransport::new()),
        config,
        Arc::new(DeliveryMetrics::default()),
    );
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(workers.run(stopped));
    tokio::time::sleep(Duration::from_secs(60)).await;
    let claims = store.claims.load(Ordering::SeqCst);
    // Backoff from 250 ms doubling to 10 s: 0, .25, .75, 1.75, 3.75, 7.75, 15.75, 25.75, ...
    assert!(
        (5..=12).contains(&claims),
        "{claims} claims in a minute of failures"
    );
    stop.send(true).unwrap();
    task.await.unwrap();
}
