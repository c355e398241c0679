//! The outbox's intake: deadlines that tell the truth, and idempotency keys.

use async_trait::async_trait;
use hipchat::RoomNotification;
use hipkit_store::{
    Enqueued, Millis, NewRecord, OutboxRecord, OutboxStore, Outcome, Requeue, SqliteStore, State,
    StateCounts, StoreError,
};
use hipkit_transport::outbox::Outbox;
use hipkit_transport::{
    DeliveryState, MemoryTransport, Message, SendOptions, Transport, TransportError,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

/// A store whose commits wait for the test's go-ahead (and say when one is waiting).
struct Held {
    inner: SqliteStore,
    entered: Notify,
    gate: Semaphore,
}

impl Held {
    fn release(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

#[async_trait]
impl OutboxStore for Held {
    async fn enqueue(&self, records: &[NewRecord]) -> Result<Vec<Enqueued>, StoreError> {
        self.entered.notify_one();
        let _go = self.gate.acquire().await;
        self.inner.enqueue(records).await
    }
    async fn claim(
        &self,
        now: Millis,
        lease: i64,
        n: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.inner.claim(now, lease, n).await
    }
    async fn record(&self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        self.inner.record(outcomes).await
    }
    async fn get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        OutboxStore::get(&self.inner, id).await
    }
    async fn list(&self, state: Option<State>, n: usize) -> Result<Vec<OutboxRecord>, StoreError> {
        OutboxStore::list(&self.inner, state, n).await
    }
    async fn requeue(&self, id: &str, now: Millis, force: bool) -> Result<Requeue, StoreError> {
        self.inner.requeue(id, now, force).await
    }
    async fn requeue_all_dead(&self, now: Millis) -> Result<u64, StoreError> {
        self.inner.requeue_all_dead(now).await
    }
    async fn purge_delivered(&self, before: Millis) -> Result<u64, StoreError> {
        self.inner.purge_delivered(before).await
    }
    async fn purge_idempotency_keys(&self, before: Millis) -> Result<u64, StoreError> {
        self.inner.purge_idempotency_keys(before).await
    }
    async fn counts(&self) -> Result<StateCounts, StoreError> {
        self.inner.counts().await
    }
    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        self.inner.next_due().await
    }
    async fn recover_leases(&self, now: Millis) -> Result<u64, StoreError> {
        self.inner.recover_leases(now).await
    }
}

async fn held() -> (tempfile::TempDir, Arc<Held>) {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqliteStore::open(&dir.path().join("o.db")).await.unwrap();
    let held = Held {
        inner,
        entered: Notify::new(),
        gate: Semaphore::new(0),
    };
    (dir, Arc::new(held))
}

fn note(text: &str) -> Message {
    Message::room("Ops", RoomNotification::new(text))
}

async fn stored_texts(store: &dyn OutboxStore) -> Vec<String> {
    let records = store.list(None, 100).await.unwrap();
    let messages = records
        .iter()
        .map(|r| serde_json::from_str::<Message>(&r.payload).unwrap());
    messages.map(|m| m.body.message).collect()
}

#[tokio::test]
async fn a_send_answers_truthfully_at_its_deadline() {
    let (_dir, store) = held().await;
    let outbox = Outbox::new(store.clone());
    let taken_deadline = Instant::now() + Duration::from_secs(60);
    let taken = {
        let outbox = outbox.clone();
        tokio::spawn(async move { outbox.send_by(&note("taken"), taken_deadline).await })
    };
    store.entered.notified().await; // the writer took "taken"; its commit is held

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await; // "taken"'s deadline has passed
    let late = outbox.send_by(&note("timed out"), Instant::now()).await;
    assert!(matches!(late, Err(TransportError::TimedOut)), "{late:?}");
    let dropped = note("dropped");
    let cut = tokio::time::timeout(Duration::from_secs(1), outbox.send(&dropped)).await;
    assert!(cut.is_err(), "a caller's own timeout drops the send");
    tokio::time::resume();

    store.release();
    let taken = taken
        .await
        .unwrap()
        .expect("taken before its deadline: a late success");
    assert_eq!(taken.state, DeliveryState::Queued);
    let after = outbox.send(&note("after")).await.unwrap();
    assert_eq!(
        stored_texts(store.as_ref()).await,
        ["taken", "after"],
        "neither the timed-out nor the dropped send was stored"
    );
    assert!(store.get(&taken.id).await.unwrap().is_some());
    assert!(store.get(&after.id).await.unwrap().is_some());
}

#[tokio::test]
async fn an_idempotency_key_stores_a_message_once() {
    let (_dir, store) = held().await;
    store.release();
    let outbox = Outbox::new(store.clone());
    let keyed = SendOptions {
        idempotency_key: Some("client-1".into()),
        ..SendOptions::default()
    };
    let first = outbox.send_with(&note("hello"), &keyed).await.unwrap();
    assert!(!first.replayed);
    let again = outbox.send_with(&note("hello"), &keyed).await.unwrap();
    assert!(again.replayed, "the retry is recognised");
    assert_eq!(again.delivery, first.delivery, "the first answer again");
    match outbox.send_with(&note("other text"), &keyed).await {
        Err(TransportError::IdempotencyConflict { key, id }) => {
            assert_eq!(
                (key.as_str(), id.as_str()),
                ("client-1", first.delivery.id.as_str())
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let unkeyed = outbox
        .send_with(&note("hello"), &SendOptions::default())
        .await
        .unwrap();
    assert!(!unkeyed.replayed);
    assert_eq!(stored_texts(store.as_ref()).await, ["hello", "hello"]);

    let memory = MemoryTransport::new();
    assert!(matches!(
        memory.send_with(&note("x"), &keyed).await,
        Err(TransportError::IdempotencyUnsupported)
    ));
    let x = note("x");
    let by = memory
        .send_by(&x, Instant::now() + Duration::from_secs(5))
        .await;
    assert_eq!(by.unwrap().state, DeliveryState::Delivered);
}
