//! Issue 23: Slack and Mattermost slash commands run the folder's integrations unchanged, over
//! loopback against the real server. Slack requests are signed by Slack's own Python SDK
//! (tests/third_party/slack_sign.py, `slack_sdk` from scripts/test's virtualenv), never by
//! hipkit's code.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::*;
use hipchat::{SecretSource, Token};
use hipkit_integrations::IntegrationsConfig;
use hipkit_integrations::slash::{ChannelRooms, MappedRoom, Platform};
use hipkit_testkit::assert_envelope;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

#[path = "fixtures/seed_example.rs"]
mod seed_example;
#[path = "fixtures/slack_sign.rs"]
mod slack_sign;

use slack_sign::slack_signature;

const SIGNING_SECRET: &str = "slash-test-signing-secret";
const MATTERMOST_TOKEN: &str = "slash-test-mattermost-token";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A slash-command form body.
fn form(command: &str, text: &str, channel: &str, response_url: &str, token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("team_id", "T0001")
        .append_pair("team_domain", "acme")
        .append_pair("channel_id", channel)
        .append_pair("channel_name", "ops")
        .append_pair("user_id", "U2147483697")
        .append_pair("user_name", "steve")
        .append_pair("command", command)
        .append_pair("text", text)
        .append_pair("response_url", response_url)
        .append_pair("trigger_id", "13345224609.738474920.8088930838d88f008e0")
        .finish()
}

/// POSTs `body` to `path` with `headers`; the status and the body (JSON, or null if empty).
async fn post(base: &str, path: &str, headers: &[(&str, String)], body: String) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// A Slack request signed by the SDK at `timestamp`.
async fn slack_at(base: &str, body: String, timestamp: u64) -> (u16, Value) {
    let signature = slack_signature(SIGNING_SECRET, timestamp, &body);
    let headers = [
        ("x-slack-request-timestamp", timestamp.to_string()),
        ("x-slack-signature", signature),
    ];
    post(base, "/hooks/slack", &headers, body).await
}

async fn slack(base: &str, body: String) -> (u16, Value) {
    slack_at(base, body, now()).await
}

async fn mattermost(base: &str, body: String) -> (u16, Value) {
    post(base, "/hooks/mattermost", &[], body).await
}

/// The text a response shows (hipkit-translate puts a coloured reply in an attachment).
fn shown(body: &Value) -> &str {
    body["attachments"][0]["text"]
        .as_str()
        .or(body["text"].as_str())
        .unwrap_or_default()
}

fn slash_config() -> IntegrationsConfig {
    IntegrationsConfig {
        slack: hipkit_integrations::SlackConfig {
            signing_secret: Some(SecretSource::Inline(Token::new(SIGNING_SECRET))),
        },
        mattermost: hipkit_integrations::MattermostConfig {
            tokens: vec![
                SecretSource::Inline(Token::new("another-command-token")),
                SecretSource::Inline(Token::new(MATTERMOST_TOKEN)),
            ],
        },
        ..IntegrationsConfig::default()
    }
}

/// Channel `C-BUILD` (either platform) is the emulator's Build Room; others are unmapped.
struct BuildRoom(u64);

impl ChannelRooms for BuildRoom {
    fn room(&self, _: Platform, channel_id: &str) -> Option<MappedRoom> {
        (channel_id == "C-BUILD").then(|| MappedRoom {
            id: self.0,
            name: "Build Room".into(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_answers_slack_and_mattermost_unchanged_sharing_its_storage() {
    let emu = emulator().await;
    let room = room_id(&emu).await;
    let (dir, db, _data) = folders();
    write(dir.path(), "example.py", seed_example::EXAMPLE, 0o644);
    seed_example::write_upload_file();
    let config = seed_example_config(room, slash_config());
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    stack.integrations.map_channels(Arc::new(BuildRoom(room)));
    let url = "http://127.0.0.1:9/unused";
    let (status, body) = slack(
        &stack.base,
        form("/example", "from slack", "C-BUILD", url, "ignored"),
    )
    .await;
    assert_eq!((status, &body), (200, &Value::Null), "{body}");
    let (status, body) = mattermost(
        &stack.base,
        form(
            "/example",
            "from mattermost",
            "C-BUILD",
            url,
            MATTERMOST_TOKEN,
        ),
    )
    .await;
    assert_eq!((status, &body), (200, &Value::Null), "{body}");
    let (status, body) = stack.command(room, "/example from hipchat").await;
    assert_eq!(status, 204, "{body}");
    // Each entry point's four effects landed in the mapped room: the notification says the query.
    let items = emu.api().history("Build Room").await;
    let said: Vec<&str> = items
        .iter()
        .filter(|i| i["from"]["name"] == "example" || i["from"] == "example")
        .map(|i| i["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        said,
        ["from slack", "from mattermost", "from hipchat"],
        "{items:?}"
    );
    assert_eq!(items.len(), 12, "{items:?}");
    // One storage for the three entry points: each call appended its query.
    assert_eq!(
        json!(stack.store().export("example").await.unwrap()),
        json!({"#0": "from slack", "#1": "from mattermost", "#2": "from hipchat"})
    );
    stack.stop().await;
}

const ECHO: &str = "\
import json
def run_integration(notification, query, storage):
    storage['calls'] = storage.get('calls', 0) + 1
    if query == 'boom':
        raise RuntimeError('secret-ish detail')
    item = notification.item
    return {'message': '<b>%s</b> for %s in %s (%s)' % (query, item.message.sender.name,
            item.room.name, item.room.id), 'color': 'green'}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_and_unsigned_requests_run_nothing() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(dir.path(), "echo.py", ECHO, 0o644);
    write(dir.path(), "quiet.py", ECHO, 0o644);
    let config = IntegrationsConfig {
        ephemeral: vec!["quiet".into()],
        ..slash_config()
    };
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    let base = &stack.base;
    let url = "http://127.0.0.1:9/unused";
    let body = || form("/echo", "hi", "C1", url, "x");
    // Unsigned, signed with another secret, replayed (six minutes old), from the future,
    // altered after signing, and a signature of the wrong form.
    let (status, refused) = post(base, "/hooks/slack", &[], body()).await;
    assert_eq!(status, 401);
    assert_envelope(&refused, 401, "not signed");
    let t = now();
    let forged = [
        ("x-slack-request-timestamp", t.to_string()),
        (
            "x-slack-signature",
            slack_signature("not-the-secret", t, &body()),
        ),
    ];
    let (status, refused) = post(base, "/hooks/slack", &forged, body()).await;
    assert_eq!(status, 401);
    assert_envelope(&refused, 401, "does not match");
    for at in [t - 360, t + 360] {
        let (status, refused) = slack_at(base, body(), at).await;
        assert_eq!(status, 401);
        assert_envelope(&refused, 401, "more than five minutes");
    }
    let altered = [
        ("x-slack-request-timestamp", t.to_string()),
        (
            "x-slack-signature",
            slack_signature(SIGNING_SECRET, t, &body()),
        ),
    ];
    let other = form("/echo", "hi there", "C1", url, "x");
    let (status, refused) = post(base, "/hooks/slack", &altered, other).await;
    assert_eq!(status, 401);
    assert_envelope(&refused, 401, "does not match");
    let (status, refused) = mattermost(base, form("/echo", "hi", "C1", url, "wrong")).await;
    assert_eq!(status, 401);
    assert_envelope(&refused, 401, "no valid Mattermost command token");
    assert!(
        stack.store().export("echo").await.unwrap().is_empty(),
        "a refused request ran the integration"
    );
    // Slack's certificate check, signed: 200, and nothing runs.
    let (status, empty) = slack(base, "token=x&ssl_check=1".to_owned()).await;
    assert_eq!((status, empty), (200, Value::Null));
    assert!(stack.store().export("echo").await.unwrap().is_empty());
    // Signed: it runs, answers in the channel; `quiet` is ephemeral; failures are ephemeral
    // and show no traceback.
    let (status, answer) = slack(base, body()).await;
    assert_eq!(status, 200, "{answer}");
    // Translated for Slack as the bridge translates: html bold is mrkdwn, green is `good`.
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    assert_eq!(shown(&answer), "*hi* for steve in ops (C1)", "{answer}");
    assert_eq!(answer["attachments"][0]["color"], "good", "{answer}");
    let (_, answer) = mattermost(base, form("/quiet", "psst", "C1", url, MATTERMOST_TOKEN)).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert_eq!(shown(&answer), "**psst** for steve in ops (C1)", "{answer}");
    let (_, answer) = slack(base, form("/echo", "boom", "C1", url, "x")).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    let text = shown(&answer);
    assert!(text.contains("RuntimeError"), "{text}");
    assert!(
        !text.contains("Traceback") && !text.contains(SIGNING_SECRET),
        "{text}"
    );
    let (_, answer) = slack(base, form("/nope", "", "C1", url, "x")).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert_eq!(
        stack.store().export("echo").await.unwrap()["calls"],
        json!(2)
    );
    stack.stop().await;
}

/// What arrives at a `response_url`.
#[derive(Clone, Default)]
struct Receiver {
    posts: Arc<Mutex<Vec<Value>>>,
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    r.posts.lock().unwrap().push(body);
    StatusCode::OK
}

const SLOW: &str = "\
import time
def run_integration(query):
    time.sleep(3)
    return 'done ' + query
";

/// Late replies go through `serve`'s outbox (crates/hipkit/tests/slash_late.rs); a host
/// without one (this stack, like `hipkit integrations`) acknowledges a slow call and posts
/// its reply to `response_url` directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_outbox_a_slow_command_is_acknowledged_and_answered_at_response_url() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(dir.path(), "slow.py", SLOW, 0o644);
    let config = IntegrationsConfig {
        timeout_secs: 6,
        ..slash_config()
    };
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/late", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/late", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, answer) = slack(&stack.base, form("/slow", "work", "C1", &url, "x")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"response_type": "ephemeral", "text": "/slow is running; its answer follows here."})
    );
    let (status, answer) = mattermost(
        &stack.base,
        form("/slow", "too", "C1", &url, MATTERMOST_TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    hipkit_testkit::wait_until_async(
        "both replies posted",
        std::time::Duration::from_secs(60),
        || {
            let receiver = receiver.clone();
            async move { receiver.posts.lock().unwrap().len() == 2 }
        },
    )
    .await;
    let mut texts: Vec<String> = receiver
        .posts
        .lock()
        .unwrap()
        .iter()
        .map(|b| shown(b).to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, ["done too", "done work"]);
    stack.stop().await;
}
