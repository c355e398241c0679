//! The HTTP reporter and the relay against a local receiver (a tiny axum server) and the
//! emulator, over loopback.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hipkit_emulator::{EmulatorConfig, EmulatorEvent, TokenSpec};
use hipkit_status::config::ReportersConfig;
use hipkit_status::http::{
    BackgroundRetries, DirectHttp, HttpConfig, HttpDelivery, HttpReporter, PushError,
    deliver_with_retries,
};
use hipkit_status::report::ReporterDeps;
use hipkit_status::{Build, Event, History, Relay, RelayAuth};
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{HttpTransport, Transport};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the receiver saw: headers and body of one request.
type Seen = (HeaderMap, Bytes);

#[derive(Clone)]
struct Receiver {
    /// Statuses to answer, in order; 200 once empty.
    plan: Arc<Mutex<VecDeque<u16>>>,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let _ = r.seen.send((headers, body));
    let code = r.plan.lock().map(|mut p| p.pop_front()).ok().flatten();
    StatusCode::from_u16(code.unwrap_or(200)).unwrap_or(StatusCode::OK)
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
        let direct = DirectHttp::new(&c).unwrap();
        let request = HttpReporter::new(c)
            .request(&build, Event::Finished)
            .unwrap();
        direct.deliver(&request).await.unwrap();
        let (headers, got) = seen.recv().await.unwrap();
        assert_eq!(got, body, "byte for byte what Buildbot sent");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-custom"], "yes");
        assert_eq!(headers["authorization"], expected);
    }
}

#[tokio::test]
async fn server_errors_are_retried_to_success_and_4xx_is_not() {
    let (url, mut seen) = receiver(&[500, 503]).await;
    let c = HttpConfig::new("h", url.clone());
    let build = Build::from_json(&buildbot_body(true, json!(0))).unwrap();
    let request = HttpReporter::new(c.clone())
        .request(&build, Event::Finished)
        .unwrap();
    let direct = DirectHttp::new(&c).unwrap();
    deliver_with_retries(&direct, &request, &fast_policy(5))
        .await
        .unwrap();
    for _ in 0..3 {
        seen.recv().await.unwrap();
    }

    let (url, mut seen) = receiver(&[404, 200]).await;
    let c = HttpConfig::new("h", url);
    let request = HttpReporter::new(c.clone())
        .request(&build, Event::Finished)
        .unwrap();
    let direct = DirectHttp::new(&c).unwrap();
    let err = deliver_with_retries(&direct, &request, &fast_policy(5))
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::Status { status: 404, .. }));
    assert!(err.to_string().starts_with("404: unable to upload status:"));
    seen.recv().await.unwrap();
    assert!(seen.try_recv().is_err(), "a 404 is not retried");

    let (url, mut seen) = receiver(&[502]).await;
    let c = HttpConfig::new("h", url);
    let request = HttpReporter::new(c.clone())
        .request(&build, Event::Finished)
        .unwrap();
    let background = BackgroundRetries::new(Arc::new(DirectHttp::new(&c).unwrap()), fast_policy(3));
    let queued = background.deliver(&request).await.unwrap();
    assert_eq!(queued.state, hipkit_transport::DeliveryState::Queued);
    seen.recv().await.unwrap();
    seen.recv().await.unwrap();
}

#[tokio::test]
async fn the_relay_end_to_end_to_the_emulator_and_the_receiver() {
    let emu = hipkit_emulator::start(EmulatorConfig {
        tokens: vec![TokenSpec::all_scopes("t")],
        rooms: vec!["Builds".into()],
        ..EmulatorConfig::ephemeral()
    })
    .await
    .unwrap();
    let mut events = emu.subscribe();
    let (url, mut seen) = receiver(&[]).await;
    let reporters: ReportersConfig = serde_json::from_value(json!({
        "hipchat": [{"builder_room_map": {"Builder0": "Builds"}}],
        "http": [{"server_url": url, "mode": "all"}],
        "relay": {"user": "bb", "password": "pw"},
    }))
    .unwrap();
    let client = hipchat::Client::builder(&emu.base_url, hipchat::Token::new("t"))
        .build()
        .unwrap();
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(client));
    let deps = ReporterDeps {
        transport: Ok(transport),
        hipchat: hipchat::ClientConfig {
            endpoint: Some(emu.base_url.clone()),
            ..Default::default()
        },
        history: History::none(),
        http_retry: Some(fast_policy(3)),
    };
    let runtime = reporters.check().unwrap().build(&deps).unwrap();
    let relay = Relay::new(runtime, RelayAuth::new(&reporters.relay));
    let base = serve(relay.router()).await;
    let http = reqwest::Client::new();
    let body = buildbot_body(true, json!(4));

    let unauthorised = http
        .post(format!("{base}/hooks/buildbot"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    let bad = http
        .post(format!("{base}/hooks/buildbot"))
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

    let ok = http
        .post(format!("{base}/hooks/buildbot"))
        .basic_auth("bb", Some("pw"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    let answer: Value = ok.json().await.unwrap();
    assert_eq!(answer["queued"].as_array().unwrap().len(), 2, "{answer}");
    let (_, got) = seen.recv().await.unwrap();
    assert_eq!(got, body);
    loop {
        if let EmulatorEvent::RoomNotification { room, item } = events.recv().await.unwrap() {
            assert_eq!(room.name, "Builds");
            assert_eq!(
                item.message,
                "Buildbot finished build Builder0 with result exception here: http://bb/#/builders/79/builds/7"
            );
            break;
        }
    }
    emu.shutdown().await;
}
