//! Every transport, and the outbox workers against the real emulator over loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipchat::{Client, Color, RoomNotification, Token};
use hipkit_emulator::RunningEmulator;
use hipkit_store::{OutboxStore, SqliteStore, State};
use hipkit_testkit::{Emulator, wait_until_async};
use hipkit_transport::outbox::{DeliveryMetrics, Outbox, RetryPolicy, WorkerConfig};
use hipkit_transport::{
    DeliveryState, FileTransport, HttpTransport, MemoryTransport, Message, NullTransport,
    Transport, TransportError,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const TOKEN: &str = "transport-test-token";

async fn emulator() -> Emulator {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Ops"])
        .users(&["bob@example.com"])
        .start()
        .await
}

fn http(emu: &RunningEmulator, token: &str) -> Arc<dyn Transport> {
    let client = Client::builder(&emu.base_url, Token::new(token))
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    Arc::new(HttpTransport::new(client))
}

fn note(text: &str) -> Message {
    Message::room("Ops", RoomNotification::new(text).color(Color::Green))
}

#[tokio::test]
async fn memory_null_and_file_transports() {
    let memory = MemoryTransport::new();
    memory.send(&note("one")).await.unwrap();
    memory
        .send(&Message::user("@bob", RoomNotification::new("two")))
        .await
        .unwrap();
    let kept = memory.sent_messages();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].body.color, Some(Color::Green));
    assert!(matches!(
        memory.send(&note("")).await,
        Err(TransportError::Invalid(_))
    ));
    memory.clear();
    assert!(memory.sent_messages().is_empty());

    let null = NullTransport::new();
    null.send(&note("x")).await.unwrap();
    null.send(&note("y")).await.unwrap();
    assert_eq!(null.count(), 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let file = FileTransport::open(&path).await.unwrap();
    file.send(&note("first")).await.unwrap();
    file.send(&note("second")).await.unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["message"], "second");
    assert_eq!(lines[1]["to"]["room"], "Ops");
    assert!(lines[1]["id"].is_string());
}

#[tokio::test]
async fn http_transport_sends_rooms_and_users() {
    let emu = emulator().await;
    let t = http(&emu, TOKEN);
    let d = t.send(&note("over http")).await.unwrap();
    assert_eq!(d.state, DeliveryState::Delivered);
    t.send(&Message::user(
        "bob@example.com",
        RoomNotification::new("psst"),
    ))
    .await
    .unwrap();
    assert_eq!(emu.api().history("Ops").await[0]["message"], "over http");
    let unknown = t
        .send(&Message::room("Nope", RoomNotification::new("x")))
        .await
        .unwrap_err();
    assert_eq!(unknown.retry(), hipkit_transport::Retry::Never);
    emu.shutdown().await;
}

struct Running {
    store: Arc<dyn OutboxStore>,
    outbox: Outbox,
    metrics: Arc<DeliveryMetrics>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn outbox_to(inner: Arc<dyn Transport>, concurrency: usize) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn OutboxStore> =
        Arc::new(SqliteStore::open(&dir.path().join("o.db")).await.unwrap());
    let outbox = Outbox::new(store.clone());
    let metrics = Arc::new(DeliveryMetrics::default());
    let config = WorkerConfig {
        concurrency,
        lease: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 6,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        idle_poll: Duration::from_millis(50),
        shutdown_grace: Duration::from_secs(2),
    };
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(outbox.workers(inner, config, metrics.clone()).run(rx));
    Running {
        store,
        outbox,
        metrics,
        stop,
        task,
        _dir: dir,
    }
}

async fn wait_for(store: &Arc<dyn OutboxStore>, state: State, n: u64) {
    let what = format!("{n} {state}");
    wait_until_async(&what, Duration::from_secs(15), || async {
        store.counts().await.unwrap().get(state) >= n
    })
    .await;
}

#[tokio::test]
async fn outbox_accepts_durably_and_delivers_everything() {
    let memory = MemoryTransport::new();
    let run = outbox_to(Arc::new(memory.clone()), 4).await;
    let mut ids = Vec::new();
    for i in 0..200 {
        let d = run.outbox.send(&note(&format!("m{i}"))).await.unwrap();
        assert_eq!(d.state, DeliveryState::Queued);
        ids.push(d.id);
    }
    assert!(matches!(
        run.outbox.send(&note("")).await,
        Err(TransportError::Invalid(_))
    ));
    wait_for(&run.store, State::Delivered, 200).await;
    assert_eq!(memory.sent_messages().len(), 200);
    assert_eq!(run.metrics.delivered.get(), 200);
    let rec = run.store.get(&ids[0]).await.unwrap().unwrap();
    assert_eq!((rec.state, rec.attempts), (State::Delivered, 1));
    run.stop.send(true).unwrap();
    run.task.await.unwrap();
}

#[tokio::test]
async fn transient_failures_are_retried_to_success() {
    let emu = emulator().await;
    let faults = reqwest::Client::new();
    for rule in [
        serde_json::json!({"times": 2, "action": {"status": {"status": 503}}}),
        serde_json::json!({"action": {"delay": {"delay_ms": 1500}}}),
        serde_json::json!({"action": "drop"}),
    ] {
        faults
            .post(format!("{}/_emulator/faults", emu.base_url))
            .bearer_auth(TOKEN)
            .json(&rule)
            .send()
            .await
            .unwrap();
    }
    let run = outbox_to(http(&emu, TOKEN), 1).await;
    let id = run.outbox.send(&note("persistent")).await.unwrap().id;
    wait_for(&run.store, State::Delivered, 1).await;
    let rec = run.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        rec.attempts, 5,
        "two 503s, a timeout and a dropped connection, then success"
    );
    assert_eq!(run.metrics.retries.get(), 4);
    let texts: Vec<String> = emu
        .api()
        .history("Ops")
        .await
        .iter()
        .map(|m| m["message"].to_string())
        .collect();
    assert!(texts.iter().filter(|t| t.contains("persistent")).count() >= 1);
    run.stop.send(true).unwrap();
    run.task.await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn permanent_failures_go_dead_with_hipchats_error() {
    let emu = emulator().await;
    let run = outbox_to(http(&emu, "not-a-valid-token"), 2).await;
    let id = run.outbox.send(&note("never")).await.unwrap().id;
    wait_for(&run.store, State::Dead, 1).await;
    let rec = run.store.get(&id).await.unwrap().unwrap();
    assert_eq!(rec.attempts, 1, "a 401 is not retried");
    assert!(rec.last_error.unwrap().contains("Invalid OAuth session"));
    assert_eq!(run.metrics.dead.get(), 1);
    run.stop.send(true).unwrap();
    run.task.await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_what_it_cannot_finish() {
    let emu = emulator().await;
    reqwest::Client::new()
        .post(format!("{}/_emulator/faults", emu.base_url))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"action": {"delay": {"delay_ms": 400}}}))
        .send()
        .await
        .unwrap();
    let run = outbox_to(http(&emu, TOKEN), 1).await;
    let id = run.outbox.send(&note("slow")).await.unwrap().id;
    wait_for(&run.store, State::InFlight, 1).await;
    run.stop.send(true).unwrap();
    run.task.await.unwrap();
    let rec = run.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        rec.state,
        State::Delivered,
        "in-flight work is finished within the grace period"
    );
    emu.shutdown().await;
}
