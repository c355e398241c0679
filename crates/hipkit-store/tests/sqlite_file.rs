//! SQLite-specific behaviour: the single-writer lock, crash recovery across processes'
//! lifetimes (store instances), reopening.

use hipkit_store::{
    KvStore, NewRecord, OutboxStore, SqliteStore, State, StoreConfig, StoreError, lock_path,
};
use std::path::PathBuf;

fn new(dest: &str) -> NewRecord {
    NewRecord {
        destination: dest.into(),
        payload: r#"{"message":"x"}"#.into(),
        created_at: 0,
        idempotency: None,
    }
}

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hipkit.db");
    (dir, path)
}

#[tokio::test]
async fn a_second_exclusive_open_is_refused_until_the_first_is_dropped() {
    let (_dir, path) = db();
    let first = SqliteStore::open_exclusive(&path).await.expect("first");
    let clone = first.clone();
    match SqliteStore::open_exclusive(&path).await {
        Err(StoreError::Locked { path: locked }) => assert_eq!(locked, path),
        other => panic!("expected Locked, got {other:?}"),
    }
    let message = StoreError::Locked { path: path.clone() }.to_string();
    assert!(message.contains("another `hipkit serve`"), "{message}");
    assert!(message.contains("`hipkit outbox`"), "{message}");
    assert!(lock_path(&path).exists(), "the lock is a sidecar file");

    drop(first);
    assert!(
        matches!(
            SqliteStore::open_exclusive(&path).await,
            Err(StoreError::Locked { .. })
        ),
        "a clone keeps the lock"
    );
    drop(clone);
    let again = SqliteStore::open_exclusive(&path)
        .await
        .expect("free again");
    drop(again);
    StoreConfig { path }
        .open_exclusive()
        .await
        .expect("through the config");
}

#[tokio::test]
async fn a_shared_open_works_beside_the_exclusive_one() {
    let (_dir, path) = db();
    let serve = SqliteStore::open_exclusive(&path).await.expect("exclusive");
    let id = serve.enqueue(&[new("room:A")]).await.expect("enqueue")[0]
        .id()
        .to_owned();
    let cli = SqliteStore::open(&path)
        .await
        .expect("shared open while locked");
    assert_eq!(
        OutboxStore::get(&cli, &id)
            .await
            .expect("get")
            .expect("record")
            .destination,
        "room:A"
    );
    assert_eq!(
        cli.requeue(&id, 5, false)
            .await
            .expect("the CLI can still write"),
        hipkit_store::Requeue::Requeued
    );
}

#[tokio::test]
async fn after_a_crash_recovered_leases_are_claimable_at_once() {
    let (_dir, path) = db();
    let crashed = SqliteStore::open_exclusive(&path).await.expect("open");
    crashed
        .enqueue(&[new("room:A"), new("room:B")])
        .await
        .expect("enqueue");
    let leased = crashed.claim(1_000, 60_000, 10).await.expect("claim");
    assert_eq!(leased.len(), 2);
    drop(crashed); // the process died holding both leases

    let restarted = SqliteStore::open_exclusive(&path).await.expect("reopen");
    assert!(
        restarted
            .claim(2_000, 60_000, 10)
            .await
            .expect("claim")
            .is_empty(),
        "without recovery the leases block delivery for a minute"
    );
    assert_eq!(restarted.recover_leases(2_000).await.expect("recover"), 2);
    let again = restarted.claim(2_000, 60_000, 10).await.expect("claim");
    assert_eq!(again.len(), 2);
    assert!(
        again
            .iter()
            .all(|r| r.attempts == 2 && r.state == State::InFlight)
    );
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path).await.expect("open");
    let id = store.enqueue(&[new("room:A")]).await.expect("enqueue")[0]
        .id()
        .to_owned();
    store
        .put("ns", "k", &serde_json::json!({"v": 1}))
        .await
        .expect("put");
    drop(store);
    let again = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        OutboxStore::get(&again, &id)
            .await
            .expect("get")
            .expect("record")
            .destination,
        "room:A"
    );
    assert_eq!(
        KvStore::get(&again, "ns", "k").await.expect("kv get"),
        Some(serde_json::json!({"v": 1}))
    );
}

#[tokio::test]
async fn an_unopenable_path_keeps_the_drivers_error() {
    let (dir, _) = db();
    let path = dir.path().join("missing-dir").join("hipkit.db");
    let err = SqliteStore::open(&path)
        .await
        .expect_err("no such directory");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );
    let err = SqliteStore::open_exclusive(&path)
        .await
        .expect_err("no such directory");
    assert!(matches!(err, StoreError::LockFile { .. }), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );
}
