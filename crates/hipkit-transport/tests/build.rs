//! `DeliveryConfig::build` for every backend, and the outbox's start-up recovery.

use hipchat::RoomNotification;
use hipkit_store::{
    NewRecord, OutboxStore, SharedStore, SqliteStore, State, StoreConfig, StoreError,
};
use hipkit_transport::outbox::DeliveryMetrics;
use hipkit_transport::{
    BackendKind, BuildError, DeliveryConfig, DeliveryState, Message, StubTransport, Transport,
};
use std::sync::Arc;

fn config(backend: BackendKind, dir: &tempfile::TempDir) -> (DeliveryConfig, StoreConfig) {
    let delivery = DeliveryConfig {
        backend,
        file_path: dir.path().join("messages.jsonl"),
        ..DeliveryConfig::default()
    };
    let store = StoreConfig {
        path: dir.path().join("hipkit.db"),
        ..StoreConfig::default()
    };
    (delivery, store)
}

async fn build(
    delivery: &DeliveryConfig,
    store: &StoreConfig,
    inner: &StubTransport,
) -> Result<hipkit_transport::DeliveryBackend, BuildError> {
    let inner: Arc<dyn Transport> = Arc::new(inner.clone());
    let metrics = Arc::new(DeliveryMetrics::default());
    delivery
        .build(&SharedStore::new(store.clone()), inner, metrics)
        .await
}

fn note() -> Message {
    Message::room("Ops", RoomNotification::new("hello"))
}

#[tokio::test]
async fn direct_backends() {
    let dir = tempfile::tempdir().unwrap();
    let inner = StubTransport::new_ok();

    let (d, s) = config(BackendKind::Http, &dir);
    let http = build(&d, &s, &inner).await.unwrap();
    http.transport.send(&note()).await.unwrap();
    assert_eq!(inner.sent_messages().len(), 1, "http sends through inner");
    assert_eq!(http.label, "http");
    assert!(http.outbox.is_none() && http.workers.is_none());

    let (d, s) = config(BackendKind::Memory, &dir);
    let memory = build(&d, &s, &inner).await.unwrap();
    memory.transport.send(&note()).await.unwrap();
    let kept = memory.memory.expect("the memory transport is reachable");
    assert_eq!(kept.sent_messages(), [note()]);

    let (d, s) = config(BackendKind::Null, &dir);
    build(&d, &s, &inner)
        .await
        .unwrap()
        .transport
        .send(&note())
        .await
        .unwrap();

    let (d, s) = config(BackendKind::File, &dir);
    let file = build(&d, &s, &inner).await.unwrap();
    file.transport.send(&note()).await.unwrap();
    let written = std::fs::read_to_string(&d.file_path).unwrap();
    assert_eq!(written.lines().count(), 1);
    assert!(file.label.contains("messages.jsonl"));
    assert_eq!(inner.sent_messages().len(), 1, "only http reached inner");
    assert!(
        !s.path.exists(),
        "no backend but the outbox opens the store"
    );

    let (mut d, s) = config(BackendKind::File, &dir);
    d.file_path = dir.path().join("missing").join("messages.jsonl");
    let err = build(&d, &s, &inner).await.unwrap_err();
    assert!(matches!(err, BuildError::File(_)), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn the_outbox_recovers_leases_left_by_a_dead_process_and_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (d, s) = config(BackendKind::Outbox, &dir);
    let crashed = SqliteStore::open(&s.path).await.unwrap();
    let record = NewRecord {
        destination: "room:Ops".into(),
        payload: serde_json::to_string(&note()).unwrap(),
        created_at: 0,
        idempotency: None,
        lane: None,
    };
    let id = crashed.enqueue(&[record]).await.unwrap()[0].id().to_owned();
    crashed.claim(0, 3_600_000, 1).await.unwrap();
    drop(crashed);

    let inner = StubTransport::new_ok();
    let backend = build(&d, &s, &inner).await.unwrap();
    let store = backend.outbox.clone().expect("an outbox store");
    let rec = store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (rec.state, rec.attempts),
        (State::Queued, 1),
        "recovered, attempt kept"
    );
    assert!(backend.workers.is_some());
    assert!(
        backend.label.starts_with("outbox (SQLite "),
        "{}",
        backend.label
    );
    let queued = backend.transport.send(&note()).await.unwrap();
    assert_eq!(queued.state, DeliveryState::Queued);

    let err = build(&d, &s, &inner).await.unwrap_err();
    assert!(
        matches!(err, BuildError::Store(StoreError::Locked { .. })),
        "a second serve on the same database is refused: {err}"
    );
}
