//! The outbox's intake: deadlines that tell the truth, and idempotency keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod support;

use hipchat::RoomNotification;
use hipkit_store::OutboxStore;
use hipkit_transport::outbox::Outbox;
use hipkit_transport::{
    ChatItem, DeliveryState, MemoryTransport, Message, Parcel, ParcelItem, SendOptions, Transport,
    TransportError,
};
use std::time::Duration;
use support::held;
use tokio::time::Instant;

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

#[tokio::test]
async fn a_group_of_parcels_is_one_commit_however_large() {
    let (_dir, store) = held().await;
    store.release();
    let outbox = Outbox::new(store.clone());
    // More parcels than one batch holds (512): a group is still never split.
    let parcels: Vec<(Parcel, Option<String>)> = (0..600)
        .map(|n| {
            let parcel = Parcel {
                via: format!("dest-{n}"),
                item: ParcelItem::Chat(ChatItem {
                    to: "room:Ops".into(),
                    payload: serde_json::json!({"n": n}),
                }),
            };
            (parcel, Some(format!("dest-{n} room:Ops")))
        })
        .collect();
    let ids = outbox.send_parcels(&parcels, None).await.unwrap();
    assert_eq!(ids.len(), 600);
    assert_eq!(*store.batches.lock().unwrap(), [600]);
    let stored = store.list(None, 1000).await.unwrap();
    assert_eq!(stored.len(), 600);
    assert_eq!(stored[599].destination, "room:Ops via dest-599");
    assert_eq!(stored[599].lane.as_deref(), Some("dest-599 room:Ops"));
    // A single send is a group of one.
    outbox.send(&note("one")).await.unwrap();
    assert_eq!(*store.batches.lock().unwrap(), [600, 1]);
}
