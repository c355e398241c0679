//! Webhooks fire: a message matching a registered webhook is POSTed to its URL (a real
//! receiver on loopback), JWT-signed when asked, and the receiver's JSON reply lands in the
//! room as a notification; every outcome is an event and a request-log line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hipchat::jwt::{JwtSecret, verify};
use hipkit_emulator::{EmulatorConfig, EmulatorEvent, FiringOutcome};
use hipkit_testkit::Emulator;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::mpsc;

mod ui_common;

const SECRET: &str = "shared-oauth-secret";

/// What a receiver saw: the `Authorization` header and the JSON body.
type Seen = (Option<String>, Value);

/// How the receiver answers every call.
#[derive(Clone)]
enum Answer {
    Json(Value),
    Empty,
    Status(u16),
    Hang,
}

#[derive(Clone)]
struct Receiver_ {
    answer: Answer,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn receive(State(r): State<Receiver_>, headers: HeaderMap, body: String) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = r
        .seen
        .send((auth, serde_json::from_str(&body).unwrap_or(Value::Null)));
    match r.answer {
        Answer::Json(v) => axum::Json(v).into_response(),
        Answer::Empty => StatusCode::NO_CONTENT.into_response(),
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

/// A webhook receiver on a free loopback port; returns its URL and what it sees.
async fn receiver(answer: Answer) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (seen, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Receiver_ { answer, seen });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

/// The shared test emulator (rooms Ops = 1 and Build Room) with `config`'s webhook settings.
async fn emulator(config: EmulatorConfig) -> Emulator {
    ui_common::emulator(EmulatorConfig {
        listen: EmulatorConfig::ephemeral().listen,
        ..config
    })
    .await
}

/// POSTs `body` to `path`: the status and the JSON answer.
async fn call(emu: &Emulator, path: &str, body: Value) -> (u16, Value) {
    let (status, _, answer) = emu.api().call(Method::POST, path, Some(body)).await;
    (status, answer)
}

async fn register(emu: &Emulator, hook: Value) -> u64 {
    let (status, body) = call(emu, "/v2/room/Ops/webhook", hook).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_u64().unwrap()
}

/// The next `WebhookFired` event, skipping others.
async fn next_firing(events: &mut Receiver<EmulatorEvent>) -> EmulatorEvent {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await.unwrap() {
                fired @ EmulatorEvent::WebhookFired { .. } => return fired,
                _ => continue,
            }
        }
    })
    .await
    .expect("no webhook fired")
}

/// Asserts the emulator still answers a notification, then stops it.
async fn still_answers_then_stop(emu: Emulator) {
    assert_eq!(
        call(&emu, "/v2/room/Ops/notification", json!({"message": "ok"}))
            .await
            .0,
        204
    );
    emu.shutdown().await;
}

fn outcome(fired: &EmulatorEvent) -> &FiringOutcome {
    match fired {
        EmulatorEvent::WebhookFired { outcome, .. } => outcome,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_matching_message_fires_and_the_reply_lands_in_the_room() {
    let emu = emulator(EmulatorConfig::default()).await;
    let mut events = emu.subscribe();
    let reply = json!({"message": "pong", "color": "green", "message_format": "text"});
    let (url, mut seen) = receiver(Answer::Json(reply)).await;
    let id = register(
        &emu,
        json!({"url": url, "event": "room_message", "pattern": "^/echo", "name": "Echo"}),
    )
    .await;

    // Anchored pattern: this one does not fire; the next one does.
    assert_eq!(
        call(
            &emu,
            "/v2/room/Ops/message",
            json!({"message": "say /echo"})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        call(
            &emu,
            "/v2/room/Ops/message",
            json!({"message": "/echo hi\nthere"})
        )
        .await
        .0,
        201
    );

    let fired = next_firing(&mut events).await;
    let EmulatorEvent::WebhookFired {
        webhook_id,
        status,
        url: logged,
        room,
        ..
    } = &fired
    else {
        unreachable!()
    };
    assert_eq!(
        (*webhook_id, *status, room.name.as_str()),
        (id, Some(200), "Ops")
    );
    assert_eq!(logged, &url);
    assert_eq!(outcome(&fired), &FiringOutcome::Replied);

    let (auth, payload) = seen.recv().await.unwrap();
    assert_eq!(auth, None, "unsigned webhooks carry no Authorization");
    assert_eq!(payload["event"], "room_message");
    assert_eq!(payload["webhook_id"], id);
    assert_eq!(payload["item"]["message"]["message"], "/echo hi\nthere");
    assert_eq!(payload["item"]["message"]["from"]["mention_name"], "admin");
    assert_eq!(payload["item"]["room"]["name"], "Ops");
    assert!(
        payload["item"]["room"]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/v2/room/1")
    );
    assert!(
        seen.try_recv().is_err(),
        "the unanchored mention must not fire"
    );

    let items = emu.api().history("Ops").await;
    let last = items.last().unwrap();
    assert_eq!(last["message"], "pong");
    assert_eq!(last["type"], "notification");
    assert_eq!(last["color"], "green");
    assert_eq!(last["from"], "Echo");

    let log = emu.api().get("/_emulator/requests").await;
    let outgoing: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outgoing"] == true)
        .collect();
    assert_eq!(outgoing.len(), 1, "{log}");
    assert_eq!(outgoing[0]["status"], 200);
    assert_eq!(outgoing[0]["token"], "Echo");
    emu.shutdown().await;
}

#[tokio::test]
async fn jwt_webhooks_are_signed_with_the_configured_secret() {
    let emu = emulator(EmulatorConfig {
        webhook_secret: Some(JwtSecret::new(SECRET)),
        webhook_issuer: "client-42".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let mut events = emu.subscribe();
    let (url, mut seen) = receiver(Answer::Empty).await;
    register(
        &emu,
        json!({"url": url, "event": "room_message", "pattern": "^/sign", "authentication": "jwt"}),
    )
    .await;
    call(&emu, "/v2/room/Ops/message", json!({"message": "/sign me"})).await;
    let fired = next_firing(&mut events).await;
    assert_eq!(outcome(&fired), &FiringOutcome::NoReply);
    let (auth, payload) = seen.recv().await.unwrap();
    let token = auth.unwrap().strip_prefix("JWT ").unwrap().to_owned();
    let claims = verify(&token, &JwtSecret::new(SECRET), Some("client-42")).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("1"));
    assert_eq!(claims.context.unwrap()["room_id"], 1);
    assert_eq!(payload["oauth_client_id"], "client-42");
    assert!(verify(&token, &JwtSecret::new("wrong"), None).is_err());
    // An empty answer posts nothing: the history holds only the message.
    assert_eq!(emu.api().history("Ops").await.len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_jwt_webhook_without_a_secret_fails_with_the_reason() {
    let emu = emulator(EmulatorConfig::default()).await;
    let mut events = emu.subscribe();
    let (url, _seen) = receiver(Answer::Empty).await;
    register(
        &emu,
        json!({"url": url, "event": "room_message", "authentication": "jwt"}),
    )
    .await;
    call(&emu, "/v2/room/Ops/message", json!({"message": "anything"})).await;
    let fired = next_firing(&mut events).await;
    assert!(
        matches!(outcome(&fired), FiringOutcome::Failed { reason } if reason.contains("webhook secret")),
        "{fired:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_hangs_and_dead_receivers_are_reported_and_post_nothing() {
    let emu = emulator(EmulatorConfig {
        webhook_timeout_secs: 1,
        ..EmulatorConfig::default()
    })
    .await;
    let mut events = emu.subscribe();
    let (failing, _a) = receiver(Answer::Status(500)).await;
    let (hanging, _b) = receiver(Answer::Hang).await;
    let (garbage, _c) = receiver(Answer::Json(json!({"no": "message"}))).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    for (url, pattern) in [
        (&failing, "^/a"),
        (&hanging, "^/b"),
        (&garbage, "^/c"),
        (&closed, "^/d"),
    ] {
        register(
            &emu,
            json!({"url": url, "event": "room_message", "pattern": pattern}),
        )
        .await;
    }
    for (message, want) in [
        ("/a", "rejected"),
        ("/b", "failed"),
        ("/c", "rejected"),
        ("/d", "failed"),
    ] {
        call(&emu, "/v2/room/Ops/message", json!({"message": message})).await;
        let fired = next_firing(&mut events).await;
        let got = serde_json::to_value(outcome(&fired)).unwrap();
        assert_eq!(got["kind"], want, "{message}: {got}");
    }
    assert_eq!(
        emu.api().history("Ops").await.len(),
        4,
        "only the four messages"
    );
    still_answers_then_stop(emu).await;
}

#[tokio::test]
async fn notifications_fire_room_notification_webhooks_but_replies_never_fire() {
    let emu = emulator(EmulatorConfig::default()).await;
    let mut events = emu.subscribe();
    // The reply matches the webhook's own pattern: it must not fire again.
    let (url, mut seen) = receiver(Answer::Json(json!({"message": "build failed again"}))).await;
    register(
        &emu,
        json!({"url": url, "event": "room_notification", "pattern": "failed"}),
    )
    .await;
    call(
        &emu,
        "/v2/room/Ops/notification",
        json!({"message": "build failed", "from": "CI"}),
    )
    .await;
    let fired = next_firing(&mut events).await;
    assert_eq!(outcome(&fired), &FiringOutcome::Replied);
    let (_, payload) = seen.recv().await.unwrap();
    assert_eq!(payload["event"], "room_notification");
    assert_eq!(payload["item"]["message"]["from"], "CI");
    // A second notification fires once more: the reply in between did not.
    call(
        &emu,
        "/v2/room/Ops/notification",
        json!({"message": "failed twice"}),
    )
    .await;
    next_firing(&mut events).await;
    assert_eq!(
        seen.recv().await.unwrap().1["item"]["message"]["message"],
        "failed twice"
    );
    assert!(seen.try_recv().is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn an_invalid_pattern_is_refused_at_registration() {
    let emu = emulator(EmulatorConfig::default()).await;
    let (status, body) = call(
        &emu,
        "/v2/room/Ops/webhook",
        json!({"url": "http://127.0.0.1:9/x", "event": "room_message", "pattern": "(unclosed"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pattern"),
        "{body}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_call_is_described_without_the_urls_query() {
    use tokio::io::AsyncReadExt;
    // A receiver that reads the request and hangs up without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hook?token=s3cret-in-query",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request).await;
    });
    let emu = emulator(EmulatorConfig::default()).await;
    let mut events = emu.subscribe();
    register(&emu, json!({"url": url, "event": "room_message"})).await;
    call(&emu, "/v2/room/Ops/message", json!({"message": "hi"})).await;
    let fired = next_firing(&mut events).await;
    let text = serde_json::to_string(&fired).unwrap();
    assert!(
        matches!(outcome(&fired), FiringOutcome::Failed { .. }),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn webhooks_are_capped_and_a_full_queue_drops_and_counts() {
    let emu = emulator(EmulatorConfig {
        webhook_timeout_secs: 60,
        max_webhooks_per_room: 50,
        max_webhooks: 53,
        webhook_queue: 10,
        ..EmulatorConfig::default()
    })
    .await;
    let (hanging, _seen) = receiver(Answer::Hang).await;
    let hook = json!({"url": hanging, "event": "room_message"});
    for _ in 0..50 {
        register(&emu, hook.clone()).await;
    }
    let (status, body) = call(&emu, "/v2/room/Ops/webhook", hook.clone()).await;
    assert_eq!(status, 400);
    hipkit_testkit::assert_envelope(&body, 400, "max_webhooks_per_room");
    for _ in 0..3 {
        let (status, body) = call(&emu, "/v2/room/Build%20Room/webhook", hook.clone()).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = call(&emu, "/v2/room/Build%20Room/webhook", hook.clone()).await;
    assert_eq!(status, 400);
    hipkit_testkit::assert_envelope(&body, 400, "max_webhooks`");
    // 50 matches, 10 places: the hung receiver keeps them, so 40 are dropped, then 50 more.
    for _ in 0..2 {
        let (status, _) = call(&emu, "/v2/room/Ops/message", json!({"message": "go"})).await;
        assert_eq!(status, 201);
    }
    let stats = emu.api().get("/_emulator/stats").await;
    assert_eq!(stats["webhooks"], 53, "{stats}");
    assert_eq!(stats["webhook_calls_dropped"], 90, "{stats}");
    still_answers_then_stop(emu).await;
}

#[tokio::test]
async fn a_hung_receiver_does_not_delay_another() {
    let emu = emulator(EmulatorConfig {
        webhook_timeout_secs: 120,
        webhook_concurrency: 3,
        webhook_per_receiver: 2,
        ..EmulatorConfig::default()
    })
    .await;
    let mut events = emu.subscribe();
    let (hanging, _a) = receiver(Answer::Hang).await;
    let (fast, mut fast_seen) = receiver(Answer::Empty).await;
    register(
        &emu,
        json!({"url": hanging, "event": "room_message", "pattern": "^/hang"}),
    )
    .await;
    register(
        &emu,
        json!({"url": fast, "event": "room_message", "pattern": "^/fast"}),
    )
    .await;
    for _ in 0..6 {
        call(&emu, "/v2/room/Ops/message", json!({"message": "/hang"})).await;
    }
    call(&emu, "/v2/room/Ops/message", json!({"message": "/fast"})).await;
    // Every slot the hung receiver could take is far fewer than all: the fast one is served
    // long before any hung call times out.
    let fired = next_firing(&mut events).await;
    assert!(
        matches!(outcome(&fired), FiringOutcome::NoReply),
        "{fired:?}"
    );
    assert!(fast_seen.recv().await.is_some());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_webhook_cannot_target_the_emulator_itself() {
    let emu = emulator(EmulatorConfig::default()).await;
    let port = emu.local_addr.port();
    for url in [
        format!("{}/faults", emu.base_url),
        format!("http://localhost:{port}/faults"),
        format!("http://127.0.0.2:{port}/_emulator/tokens"),
        format!("http://[::1]:{port}/faults"),
        format!("http://0.0.0.0:{port}/faults"),
    ] {
        let (status, body) = call(
            &emu,
            "/v2/room/Ops/webhook",
            json!({"url": url, "event": "room_message"}),
        )
        .await;
        assert_eq!(status, 400, "{url}: {body}");
        hipkit_testkit::assert_envelope(&body, 400, "emulator itself");
    }
    let (other, _seen) = receiver(Answer::Empty).await;
    register(&emu, json!({"url": other, "event": "room_message"})).await;
    emu.shutdown().await;
}
