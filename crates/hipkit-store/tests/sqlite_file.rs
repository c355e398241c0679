//! SQLite-specific behaviour: the single-writer lock, crash recovery across processes'
//! lifetimes (store instances), reopening.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_store::{
    JOURNAL_SIZE_LIMIT, KvStore, LastBuild, LastBuildStore, NewRecord, OutboxStore, SqliteStore,
    State, StoreConfig, StoreError, lock_path,
};
use std::path::PathBuf;

/// The stored destination of record `id` (which must exist).
async fn destination(store: &SqliteStore, id: &str) -> String {
    OutboxStore::get(store, id)
        .await
        .expect("get")
        .expect("record")
        .destination
}

fn new(dest: &str) -> NewRecord {
    NewRecord {
        destination: dest.into(),
        payload: r#"{"message":"x"}"#.into(),
        created_at: 0,
        idempotency: None,
        lane: None,
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
    StoreConfig {
        path,
        ..StoreConfig::default()
    }
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
    assert_eq!(destination(&cli, &id).await, "room:A");
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
    assert_eq!(destination(&again, &id).await, "room:A");
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

fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_database(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}

#[tokio::test]
async fn a_deleted_or_replaced_database_refuses_intake_and_is_unhealthy() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path).await.expect("open");
    store.enqueue(&[new("room:A")]).await.expect("enqueue");

    remove_database(&path);
    let err = store
        .enqueue(&[new("room:B")])
        .await
        .expect_err("intake refused");
    assert!(matches!(err, StoreError::Gone { .. }), "{err}");
    assert!(err.to_string().contains("restart hipkit"), "{err}");

    // Replaced by another file at the same path: still not the file this store writes to.
    let other = SqliteStore::open(&path).await.expect("a new database");
    other
        .health()
        .await
        .expect("the new file's own store is healthy");
    assert!(matches!(
        store.enqueue(&[new("room:C")]).await,
        Err(StoreError::Gone { .. })
    ));
    let err = store.health().await.expect_err("unhealthy");
    assert!(
        matches!(&err, StoreError::Unhealthy(cause) if matches!(**cause, StoreError::Gone { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn a_damaged_database_fails_to_open_and_says_how_to_recover() {
    let (_dir, path) = db();
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = SqliteStore::open_exclusive(&path)
        .await
        .expect_err("damaged");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    assert!(err.to_string().contains("hipkit outbox recover"), "{err}");
}

#[tokio::test]
async fn recovery_copies_what_a_damaged_database_still_holds() {
    let (dir, path) = db();
    let store = SqliteStore::open(&path).await.expect("open");
    store
        .put("ns", "k", &serde_json::json!({"v": 1}))
        .await
        .unwrap();
    let build = LastBuild {
        build_number: 7,
        result: 0,
        at: 1,
    };
    store.put_last("scope", "builder", &build).await.unwrap();
    let records: Vec<NewRecord> = (0..3000)
        .map(|i| NewRecord {
            payload: format!(r#"{{"message":"record {i} {}"}}"#, "x".repeat(200)),
            ..new("room:A")
        })
        .collect();
    let ids: Vec<String> = store
        .enqueue(&records)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id().to_owned())
        .collect();
    store.compact().await.unwrap();
    drop(store);

    // Scribble over every 7th page of the middle third of the file.
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    for page in (pages / 3..2 * pages / 3).step_by(7) {
        bytes[page * 4096..(page + 1) * 4096].fill(0xa5);
    }
    std::fs::write(&path, bytes).unwrap();

    let target = dir.path().join("recovered.db");
    let report = SqliteStore::recover_into(&path, &target)
        .await
        .expect("recover");
    let outbox = report.outbox;
    assert!(outbox.copied > 0 && outbox.copied < 3000, "{report:?}");
    assert!(outbox.copied + outbox.lost <= 3000, "{report:?}");
    assert_eq!(
        (report.kv.copied, report.last_build.copied),
        (1, 1),
        "{report:?}"
    );
    assert!(matches!(
        SqliteStore::recover_into(&path, &target).await,
        Err(StoreError::RecoverTarget { .. })
    ));

    let recovered = SqliteStore::open_exclusive(&target)
        .await
        .expect("a healthy new database");
    let kept = OutboxStore::list(&recovered, None, 5000).await.unwrap();
    assert_eq!(kept.len() as u64, outbox.copied);
    for r in &kept {
        let i = ids
            .iter()
            .position(|id| *id == r.id)
            .expect("an original id");
        assert_eq!(r.payload, records[i].payload, "copied intact");
        assert_eq!(r.state, State::Queued);
    }
    assert_eq!(
        KvStore::get(&recovered, "ns", "k").await.unwrap(),
        Some(serde_json::json!({"v": 1}))
    );
    assert_eq!(
        recovered.get_last("scope", "builder").await.unwrap(),
        Some(build)
    );
}

#[tokio::test]
async fn recovery_reads_a_database_from_before_lanes() {
    use sqlx::{ConnectOptions, Executor};
    let (dir, path) = db();
    let store = SqliteStore::open(&path).await.expect("open");
    let id = store.enqueue(&[new("room:A")]).await.unwrap()[0]
        .id()
        .to_owned();
    drop(store);
    // The outbox as migration 5 left it: no lane column (nor the indexes that name it).
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .expect("connect");
    conn.execute(
        "DROP INDEX outbox_lane; DROP INDEX outbox_queued; \
         ALTER TABLE outbox DROP COLUMN lane",
    )
    .await
    .expect("the schema before lanes");
    drop(conn);

    let target = dir.path().join("recovered.db");
    let report = SqliteStore::recover_into(&path, &target)
        .await
        .expect("recover");
    assert_eq!(
        (report.outbox.copied, report.outbox.lost),
        (1, 0),
        "{report:?}"
    );
    let recovered = SqliteStore::open(&target).await.expect("open");
    let record = OutboxStore::get(&recovered, &id)
        .await
        .unwrap()
        .expect("copied");
    assert_eq!((record.destination.as_str(), record.lane), ("room:A", None));
}

#[tokio::test]
async fn the_wal_is_truncated_after_a_burst() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path).await.expect("open");
    let batch: Vec<NewRecord> = (0..500)
        .map(|_| NewRecord {
            payload: format!(r#"{{"message":"{}"}}"#, "x".repeat(400)),
            ..new("room:A")
        })
        .collect();
    for _ in 0..40 {
        store.enqueue(&batch).await.expect("enqueue");
    }
    let wal = || std::fs::metadata(with_suffix(&path, "-wal")).map_or(0, |m| m.len());
    // A checkpoint that resets a WAL grown past the limit truncates it to exactly the limit,
    // so a burst leaves at least that much (more when no reset came after the last growth).
    assert!(
        wal() >= JOURNAL_SIZE_LIMIT,
        "the burst grew the WAL: {}",
        wal()
    );
    let before = store.size_bytes().await.unwrap();
    store.compact().await.expect("checkpoint");
    assert!(wal() < JOURNAL_SIZE_LIMIT, "WAL is {} bytes", wal());
    assert!(store.size_bytes().await.unwrap() < before);
    assert_eq!(store.counts().await.unwrap().queued, 20_000);
}

/// A connection beside the store's own (a checkpoint, another process) holding SQLite's write
/// lock while an enqueue with idempotency keys runs: the enqueue waits for the lock instead of
/// failing with "database is locked". Found by `scripts/soak`: the keys' lookup started a read
/// transaction that SQLite cannot upgrade once another writer has committed, so the busy
/// handler was never consulted and the relay answered 503.
#[tokio::test]
async fn an_enqueue_with_keys_waits_for_another_writer_instead_of_failing() {
    use sqlx::{Connection, Executor};
    let (_dir, path) = db();
    let store = SqliteStore::open(&path).await.expect("open");
    let keyed = |n: usize| NewRecord {
        idempotency: Some(hipkit_store::IdempotencyKey {
            key: format!("key-{n}"),
            fingerprint: "f".into(),
        }),
        ..new("room:Ops")
    };
    store.enqueue(&[keyed(0)]).await.expect("first enqueue");

    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("second connection");
    other.execute("BEGIN IMMEDIATE").await.expect("write lock");
    other
        .execute("UPDATE outbox SET attempts = attempts")
        .await
        .expect("write");
    let enqueue = tokio::spawn({
        let store = store.clone();
        async move { store.enqueue(&[keyed(1)]).await }
    });
    // Let the enqueue reach the lock while the other writer holds it, then commit.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    other.execute("COMMIT").await.expect("commit");

    let enqueued = enqueue
        .await
        .expect("task")
        .expect("the enqueue waits and succeeds");
    assert!(enqueued[0].is_new(), "{enqueued:?}");
}
