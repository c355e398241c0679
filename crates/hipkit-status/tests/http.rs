//! The HTTP reporter, reports through the durable outbox (a real SQLite file, real workers)
//! and the relay, against a local receiver (a tiny axum server) and the emulator, over
//! loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use hipkit_emulator::EmulatorEvent;
use hipkit_status::config::ReportersConfig;
use hipkit_status::http::{HttpConfig, HttpReporter};
use hipkit_status::report::ReporterDeps;
use hipkit_status::{Build, Event, History, Relay, RelayAuth, Reporters};
use hipkit_store::{OutboxRecord, OutboxStore, SqliteStore, State as RecordState};
use hipkit_testkit::Emulator;
use hipkit_transport::outbox::{DeliveryMetrics, Outbox, RetryPolicy, WorkerConfig};
use hipkit_transport::{HttpTransport, NullTransport, SendOptions, Transport};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What the receiver saw: headers and body of one request.
type Seen = (HeaderMap, Bytes);

#[derive(Clone)]
struct Receiver {
    /// Statuses to answer, in order; 200 once empty.
    plan: Arc<Mutex<VecDeque<u16>>>,
    seen: mpsc::UnboundedSender<Seen>,
}

/// Answers the next planned status (a 429 says `Retry-After: 0`).
async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let _ = r.seen.send((headers, body));
    let code = r.plan.lock().map(|mut p| p.pop_front()).ok().flatten();
    let status = StatusCode::from_u16(code.unwrap_or(200)).unwrap_or(StatusCode::OK);
    (status, [("Retry-After", "0")], "answer")
}

/// Serves `router` on a free loopback port; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// A receiver answering `plan` first; returns its URL and what it sees.
async fn receiver(plan: &[u16]) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Receiver {
        plan: Arc::new(Mutex::new(plan.iter().copied().collect())),
        seen: tx,
    };
    let url = serve(
        Router::new()
            .route("/hook", post(receive))
            .with_state(state),
    )
    .await;
    (format!("{url}/hook"), rx)
}

/// The next request the receiver saw (a missing one fails the test after a while).
async fn next_seen(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(20), seen.recv())
        .await
        .expect("the receiver saw nothing")
        .expect("receiver gone")
}

/// A Buildbot-shaped body, as bytes with Python's spacing and key order.
fn buildbot_body(complete: bool, results: Value) -> Vec<u8> {
    format!(
        r#"{{"buildid": 20, "number": 7, "builderid": 79, "complete": {complete}, "complete_at": null, "results": {results}, "properties": {{"branch": ["main", "Build"]}}, "url": "http://bb/#/builders/79/builds/7", "builder": {{"builderid": 79, "name": "Builder0", "tags": [], "description": null}}, "buildset": {{"sourcestamps": [{{"branch": null}}]}}, "parentbuild": null}}"#
    )
    .into_bytes()
}

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        max_age: Duration::from_secs(60),
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn config(v: Value) -> HttpConfig {
    match v {
        Value::Object(m) => HttpConfig::from_table(&m, 1).unwrap(),
        _ => unreachable!("tests pass objects"),
    }
}

/// A file-backed outbox in `dir`, and its store.
async fn outbox(dir: &tempfile::TempDir) -> (Outbox, Arc<SqliteStore>) {
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("hipkit.db"))
            .await
            .unwrap(),
    );
    (Outbox::new(store.clone()), store)
}

/// `[reporters]` built over `outbox` (parcels queued there), HipChat messages through
/// `transport`.
fn reporters(table: Value, outbox: &Outbox, transport: Arc<dyn Transport>) -> Reporters {
    let checked = serde_json::from_value::<ReportersConfig>(table)
        .unwrap()
        .check()
        .unwrap();
    let deps = ReporterDeps {
        transport: Ok(transport),
        hipchat: hipchat::ClientConfig::default(),
        history: History::none(),
        queue: Some(outbox.clone()),
    };
    checked.build(&deps).unwrap()
}

/// Runs the outbox's workers, delivering parcels through `couriers`, until the sender drops.
fn run_workers(
    outbox: &Outbox,
    couriers: &Reporters,
    inner: Arc<dyn Transport>,
    retry: RetryPolicy,
) -> watch::Sender<bool> {
    let config = WorkerConfig {
        concurrency: 2,
        retry,
        idle_poll: Duration::from_millis(50),
        shutdown_grace: Duration::from_secs(1),
        ..WorkerConfig::default()
    };
    let workers = outbox
        .workers(inner, config, Arc::new(DeliveryMetrics::default()))
        .with_couriers(couriers.couriers());
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(workers.run(stopped));
    stop
}

/// Queues every report of `build` at its event; returns the ids.
async fn queue(reporters: &Reporters, build: &Build) -> Vec<String> {
    let prepared = reporters.prepare(build, build.event()).await;
    assert!(prepared.failures.is_empty(), "{:?}", prepared.failures);
    let mut ids = Vec::new();
    for report in &prepared.outgoing {
        let delivery = report.send(&SendOptions::default()).await.unwrap();
        assert_eq!(delivery.state, hipkit_transport::DeliveryState::Queued);
        ids.push(delivery.id);
    }
    ids
}

/// Polls the record until it is in `state` (a record that never gets there fails the test).
async fn settled(store: &SqliteStore, id: &str, state: RecordState) -> OutboxRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let record = store.get(id).await.unwrap().expect("record");
        if record.state == state {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "record never {state}: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The database's bytes, with its write-ahead log.
fn database_bytes(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["hipkit.db", "hipkit.db-wal"] {
        bytes.extend(std::fs::read(dir.path().join(name)).unwrap_or_default());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn the_body_is_the_build_as_sent_with_headers_and_auth() {
    let (url, mut seen) = receiver(&[]).await;
    let body = buildbot_body(true, json!(2));
    let build = Build::from_json(&body).unwrap();
    for (auth, expected) in [
        (
            json!({"basic": ["buildbot", "pw"]}),
            "Basic YnVpbGRib3Q6cHc=",
        ),
        (json!({"bearer": "tok"}), "Bearer tok"),
    ] {
        let c = config(json!({"server_url": url, "auth": auth, "headers": {"X-Custom": "yes"}}));
        let reporter = HttpReporter::new(c);
        let request = reporter.request(&build, Event::Finished).unwrap();
        reporter.client().unwrap().send(&request).await.unwrap();
        let (headers, got) = next_seen(&mut seen).await;
        assert_eq!(got, body, "byte for byte what Buildbot sent");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-custom"], "yes");
        assert_eq!(headers["authorization"], expected);
    }
}

/// `build`'s reports from the reporters of `table`, queued in an outbox in a temporary
/// directory (HipChat messages of the shared client go nowhere).
struct Queued {
    _dir: tempfile::TempDir,
    outbox: Outbox,
    store: Arc<SqliteStore>,
    reporters: Reporters,
    ids: Vec<String>,
}

async fn queued(table: Value, body: &[u8]) -> Queued {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, store) = outbox(&dir).await;
    let reporters = reporters(table, &outbox, Arc::new(NullTransport::new()));
    let ids = queue(&reporters, &Build::from_json(body).unwrap()).await;
    Queued {
        _dir: dir,
        outbox,
        store,
        reporters,
        ids,
    }
}

impl Queued {
    /// Starts the workers, delivering parcels through the couriers of `couriers`.
    fn deliver_by(&self, couriers: &Reporters) -> watch::Sender<bool> {
        let inner = Arc::new(NullTransport::new());
        run_workers(&self.outbox, couriers, inner, fast_policy(5))
    }

    /// Polls record `index` until it is in `state`.
    async fn settled(&self, index: usize, state: RecordState) -> OutboxRecord {
        settled(&self.store, &self.ids[index], state).await
    }
}

#[tokio::test]
async fn a_queued_push_survives_5xx_and_arrives_once_byte_exact() {
    let (url, mut seen) = receiver(&[503, 503]).await;
    let body = buildbot_body(true, json!(0));
    let q = queued(
        json!({"http": [{"server_url": url, "auth": {"bearer": "tok-4711"}}]}),
        &body,
    )
    .await;
    let record = q.store.get(&q.ids[0]).await.unwrap().unwrap();
    assert!(
        record.destination.ends_with("/hook via http-1"),
        "{record:?}"
    );

    let _stop = q.deliver_by(&q.reporters);
    for _ in 0..3 {
        let (headers, got) = next_seen(&mut seen).await;
        assert_eq!(got, body, "byte for byte, every attempt");
        assert_eq!(headers["authorization"], "Bearer tok-4711");
    }
    let delivered = q.settled(0, RecordState::Delivered).await;
    assert_eq!(delivered.attempts, 3);
    assert!(
        delivered
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("503: unable to upload status:")),
        "{delivered:?}"
    );
    assert!(seen.try_recv().is_err(), "delivered once");
}

#[tokio::test]
async fn refusals_are_dead_letters_with_their_reason_and_429_honours_retry_after() {
    let (refusing, mut refused) = receiver(&[404]).await;
    let (limiting, mut limited) = receiver(&[429]).await;
    let q = queued(
        json!({"http": [{"name": "refusing", "server_url": refusing},
                        {"name": "limiting", "server_url": limiting}]}),
        &buildbot_body(true, json!(2)),
    )
    .await;
    let _stop = q.deliver_by(&q.reporters);
    let dead = q.settled(0, RecordState::Dead).await;
    assert_eq!(dead.attempts, 1, "a 404 is not retried");
    assert_eq!(
        dead.last_error.as_deref(),
        Some("404: unable to upload status: answer")
    );
    next_seen(&mut refused).await;
    let delivered = q.settled(1, RecordState::Delivered).await;
    assert_eq!(delivered.attempts, 2, "retried once Retry-After passed");
    next_seen(&mut limited).await;
    next_seen(&mut limited).await;
}

#[tokio::test]
async fn a_report_whose_reporter_is_gone_is_a_dead_letter_that_says_so() {
    let (url, _seen) = receiver(&[]).await;
    let q = queued(
        json!({"http": [{"name": "dashboard", "server_url": url}]}),
        &buildbot_body(true, json!(0)),
    )
    .await;
    // Restarted with a configuration that no longer has the reporter.
    let after = reporters(
        json!({"http": [{"name": "other", "server_url": url}]}),
        &q.outbox,
        Arc::new(NullTransport::new()),
    );
    let _stop = q.deliver_by(&after);
    let reason = q.settled(0, RecordState::Dead).await.last_error;
    let reason = reason.unwrap_or_default();
    assert!(
        reason.starts_with(
            "cannot deliver through `dashboard`: no reporter of this name is configured any more"
        ),
        "{reason}"
    );
}

/// An emulator accepting only `token`, with the room `Builds`.
async fn emulator(token: &str) -> Emulator {
    hipkit_testkit::emulator()
        .token(token)
        .rooms(&["Builds"])
        .start()
        .await
}

/// The next room notification's text.
async fn next_notification(events: &mut tokio::sync::broadcast::Receiver<EmulatorEvent>) -> String {
    let wait = async {
        loop {
            if let EmulatorEvent::RoomNotification { item, .. } = events.recv().await.unwrap() {
                return item.message;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("no notification")
}

#[tokio::test]
async fn own_token_messages_and_pushes_are_queued_without_any_secret() {
    const OWN: &str = "own-hipchat-token-5150";
    let emu = emulator(OWN).await;
    let mut events = emu.subscribe();
    let (url, mut seen) = receiver(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (outbox, store) = outbox(&dir).await;
    let table = json!({
        "hipchat": [{"auth_token": OWN, "endpoint": emu.base_url, "verify": false,
                     "builder_room_map": {"Builder0": "Builds"}}],
        "http": [{"server_url": url, "auth": {"basic": ["bb", "basic-pw-0815"]},
                  "headers": {"X-Api-Key": "header-key-4242", "X-Request-Id": "visible"}}],
    });
    // The shared transport is never used: this reporter has its own token.
    let reporters = reporters(table, &outbox, Arc::new(NullTransport::new()));
    let body = buildbot_body(true, json!(2));
    let ids = queue(&reporters, &Build::from_json(&body).unwrap()).await;
    assert_eq!(ids.len(), 2);
    let message = store.get(&ids[0]).await.unwrap().unwrap();
    assert_eq!(message.destination, "room:Builds via hipchat-1");

    let bytes = database_bytes(&dir);
    assert!(
        contains(&bytes, "X-Request-Id"),
        "the stored rows are in these bytes"
    );
    for secret in [
        OWN,
        "basic-pw-0815",
        "header-key-4242",
        "YmI6YmFzaWMtcHctMDgxNQ",
    ] {
        assert!(!contains(&bytes, secret), "{secret} reached the database");
    }

    let _stop = run_workers(
        &outbox,
        &reporters,
        Arc::new(NullTransport::new()),
        fast_policy(3),
    );
    assert_eq!(
        next_notification(&mut events).await,
        "Buildbot finished build Builder0 with result failure here: http://bb/#/builders/79/builds/7"
    );
    let (headers, got) = next_seen(&mut seen).await;
    assert_eq!(got, body);
    assert_eq!(headers["authorization"], "Basic YmI6YmFzaWMtcHctMDgxNQ==");
    assert_eq!(headers["x-api-key"], "header-key-4242");
    for id in &ids {
        settled(&store, id, RecordState::Delivered).await;
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn the_relay_answers_once_every_report_is_queued() {
    let emu = emulator("t").await;
    let mut events = emu.subscribe();
    let (url, mut seen) = receiver(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (outbox, store) = outbox(&dir).await;
    let table = json!({
        "hipchat": [{"builder_room_map": {"Builder0": "Builds"}}],
        "http": [{"server_url": url, "mode": "all"}],
        "relay": {"user": "bb", "password": "pw"},
    });
    let relay_config: ReportersConfig = serde_json::from_value(table.clone()).unwrap();
    let client = hipchat::Client::builder(&emu.base_url, hipchat::Token::new("t"))
        .build()
        .unwrap();
    let inner: Arc<dyn Transport> = Arc::new(HttpTransport::new(client));
    let shared: Arc<dyn Transport> = Arc::new(outbox.clone());
    let runtime = reporters(table, &outbox, shared);
    let _stop = run_workers(&outbox, &runtime, inner, fast_policy(3));
    let relay = Relay::new(runtime, RelayAuth::new(&relay_config.relay));
    let base = serve(relay.router()).await;
    let http = reqwest::Client::new();
    let body = buildbot_body(true, json!(4));

    let unauthorised = http
        .post(format!("{base}/hooks/buildbot"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    let bad = http
        .post(format!("{base}/hooks/buildbot"))
        .header("content-type", "application/json")
        .basic_auth("bb", Some("pw"))
        .body(r#"{"builder": {"name": "b"}, "prev_build": 3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(
        bad["error"]["message"],
        "prev_build: must be an object or null"
    );
    assert_eq!(store.counts().await.unwrap().queued, 0, "nothing queued");

    let ok = http
        .post(format!("{base}/hooks/buildbot"))
        .header("content-type", "application/json")
        .basic_auth("bb", Some("pw"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    let answer: Value = ok.json().await.unwrap();
    let queued = answer["queued"].as_array().unwrap();
    assert_eq!(queued.len(), 2, "{answer}");
    for q in queued {
        assert_eq!(q["state"], "queued", "{answer}");
        let id = q["id"].as_str().unwrap();
        assert!(
            store.get(id).await.unwrap().is_some(),
            "stored before the answer"
        );
    }
    let (_, got) = next_seen(&mut seen).await;
    assert_eq!(got, body);
    assert_eq!(
        next_notification(&mut events).await,
        "Buildbot finished build Builder0 with result exception here: http://bb/#/builders/79/builds/7"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn verify_applies_when_a_queued_push_leaves() {
    // The emulator over HTTPS with a self-signed certificate is a real TLS receiver.
    let emu = hipkit_testkit::emulator()
        .token("tls-token")
        .rooms(&["Builds"])
        .with(|c| c.tls = true)
        .start()
        .await;
    assert!(emu.base_url.starts_with("https://"), "{}", emu.base_url);
    let mut events = emu.subscribe();
    let push = |name: &str, verify: bool| {
        json!({"name": name, "server_url": format!("{}/v2/room/Builds/notification", emu.base_url),
               "auth": {"bearer": "tls-token"}, "verify": verify,
               "payload": "{\"message\": \"{{ builder }} {{ result }}\"}"})
    };
    let q = queued(
        json!({"http": [push("trusting", false), push("verifying", true)]}),
        &buildbot_body(true, json!(2)),
    )
    .await;
    let _stop = q.deliver_by(&q.reporters);
    assert_eq!(next_notification(&mut events).await, "Builder0 failure");
    q.settled(0, RecordState::Delivered).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let r = q.store.get(&q.ids[1]).await.unwrap().expect("record");
        // Retried (a network error), perhaps up to the budget: never delivered.
        if r.attempts >= 2 && matches!(r.state, RecordState::Queued | RecordState::Dead) {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "{r:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let error = refused.last_error.unwrap_or_default();
    assert!(
        error.starts_with("cannot reach the receiver"),
        "the certificate is not trusted: {error}"
    );
    emu.shutdown().await;
}
