//! Leases across worker sets sharing one store (as replicas share a database): the heartbeat
//! keeps a slow delivery's lease, and a worker set that dies has its claims taken over.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: a failed unwrap fails the test"
)]

use async_trait::async_trait;
use hipchat::RoomNotification;
use hipkit_store::{OutboxStore, SqliteStore, State};
use hipkit_testkit::wait_until_async;
use hipkit_transport::outbox::{DeliveryMetrics, Outbox, WorkerConfig};
use hipkit_transport::{
    Delivery, DeliveryState, MemoryTransport, Message, Transport, TransportError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Sends take `delay` (or never end, with `None`); counts the sends started.
struct Slow {
    delay: Option<Duration>,
    started: AtomicU64,
}

#[async_trait]
impl Transport for Slow {
    async fn send(&self, _message: &Message) -> Result<Delivery, TransportError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        match self.delay {
            Some(delay) => tokio::time::sleep(delay).await,
            None => std::future::pending().await,
        }
        Ok(Delivery {
            id: "sent".into(),
            state: DeliveryState::Delivered,
        })
    }
}

fn config(lease: Duration) -> WorkerConfig {
    WorkerConfig {
        concurrency: 2,
        lease,
        idle_poll: Duration::from_millis(20),
        shutdown_grace: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

/// Worker sets ("replicas") on one store: started, and stopped by `watch`.
fn start(
    outbox: &Outbox,
    inner: Arc<dyn Transport>,
    lease: Duration,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, rx) = watch::channel(false);
    let metrics = Arc::new(DeliveryMetrics::default());
    let workers = outbox.workers(inner, config(lease), metrics);
    (stop, tokio::spawn(workers.run(rx)))
}

fn note() -> Message {
    Message::room("Ops", RoomNotification::new("lease"))
}

async fn delivered(store: &Arc<dyn OutboxStore>, id: &str) -> bool {
    store.get(id).await.unwrap().unwrap().state == State::Delivered
}

#[tokio::test]
async fn a_delivery_slower_than_its_lease_keeps_it_while_its_worker_lives() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn OutboxStore> =
        Arc::new(SqliteStore::open(&dir.path().join("o.db")).await.unwrap());
    let outbox = Outbox::new(store.clone());
    let slow = Arc::new(Slow {
        delay: Some(Duration::from_millis(1500)),
        started: AtomicU64::new(0),
    });
    let other = MemoryTransport::new();
    // A lease a fraction of the delivery: only the heartbeat keeps the message.
    let lease = Duration::from_millis(300);
    let (stop_a, a) = start(&outbox, slow.clone(), lease);
    let id = outbox.send(&note()).await.unwrap().id;
    wait_until_async("the slow send started", Duration::from_secs(10), || async {
        slow.started.load(Ordering::SeqCst) == 1
    })
    .await;
    let (stop_b, b) = start(&outbox, Arc::new(other.clone()), lease);
    wait_until_async("delivered", Duration::from_secs(20), || {
        delivered(&store, &id)
    })
    .await;
    for stop in [stop_a, stop_b] {
        stop.send(true).unwrap();
    }
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(slow.started.load(Ordering::SeqCst), 1, "sent once");
    assert!(
        other.sent_messages().is_empty(),
        "the other worker set never took the renewed lease"
    );
    let record = store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.attempts, 1);
}

#[tokio::test]
async fn a_dead_worker_sets_claims_are_taken_over_and_its_heartbeat_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn OutboxStore> =
        Arc::new(SqliteStore::open(&dir.path().join("o.db")).await.unwrap());
    let outbox = Outbox::new(store.clone());
    let stuck = Arc::new(Slow {
        delay: None,
        started: AtomicU64::new(0),
    });
    let lease = Duration::from_millis(300);
    let (_stop_a, a) = start(&outbox, stuck.clone(), lease);
    let id = outbox.send(&note()).await.unwrap().id;
    wait_until_async("the send started", Duration::from_secs(10), || async {
        stuck.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // Killed mid-send: no release, no outcome, no more heartbeats.
    a.abort();
    assert!(a.await.unwrap_err().is_cancelled());
    let taken_over = store.get(&id).await.unwrap().unwrap();
    assert_eq!(taken_over.state, State::InFlight, "left in flight");

    let other = MemoryTransport::new();
    let (stop_b, b) = start(&outbox, Arc::new(other.clone()), lease);
    wait_until_async("taken over and delivered", Duration::from_secs(20), || {
        delivered(&store, &id)
    })
    .await;
    stop_b.send(true).unwrap();
    b.await.unwrap();
    assert_eq!(other.sent_messages().len(), 1);
    assert_eq!(store.get(&id).await.unwrap().unwrap().attempts, 2);
}
