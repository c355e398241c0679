//! Every link the emulator puts in a response resolves: starting from the room and user
//! lists, the capabilities document, histories and webhooks, the test follows every URL under
//! any `links` object it is given (and under those it reaches), and none answers 404.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::Api;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeSet, VecDeque};

/// Every URL under a `links` key anywhere in `body`.
fn links(body: &Value, found: &mut Vec<String>) {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "links"
                    && let Value::Object(links) = value
                {
                    found.extend(links.values().filter_map(|v| v.as_str().map(str::to_owned)));
                }
                links(value, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| links(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn every_link_the_emulator_gives_resolves() {
    let emu = hipkit_testkit::emulator()
        .rooms(&["Build Room", "Ops"])
        .users(&["erin@example.com"])
        .start()
        .await;
    let api = emu.api();
    // Something in every collection: a private room, messages, a webhook, a private chat.
    let (status, _, body) = api
        .call(
            Method::POST,
            "/v2/room",
            Some(json!({"name": "Secret", "privacy": "private"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    api.notify("Build Room", json!({"message": "built", "color": "green"}))
        .await;
    let (status, _, body) = api
        .call(
            Method::POST,
            "/v2/room/1/message",
            Some(json!({"message": "hello"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = api
        .call(
            Method::POST,
            "/v2/room/1/webhook",
            Some(json!({"url": "http://127.0.0.1:9/hook", "event": "room_message", "name": "w"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = api
        .call(
            Method::POST,
            "/v2/user/erin@example.com/message",
            Some(json!({"message": "pm"})),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let base = api.base().to_owned();
    let start = [
        "/v2/capabilities",
        "/v2/room?max-results=1",
        "/v2/user?max-results=1",
        "/v2/room/1/history",
        "/v2/room/1/history/latest",
        "/v2/room/1/webhook",
        "/v2/room/1/statistics",
        "/v2/user/erin@example.com/history/latest",
    ];
    let mut queue: VecDeque<String> = start.iter().map(|p| format!("{base}{p}")).collect();
    let mut seen = BTreeSet::new();
    let mut broken = Vec::new();
    while let Some(url) = queue.pop_front() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let path = url
            .strip_prefix(&base)
            .unwrap_or_else(|| panic!("{url} leaves the emulator"));
        let (status, _, body) = Api::send(api.request(Method::GET, path)).await;
        if status == 404 {
            broken.push(url.clone());
            continue;
        }
        let mut found = Vec::new();
        links(&body, &mut found);
        queue.extend(found);
    }
    assert!(
        broken.is_empty(),
        "links answering 404: {broken:?} (followed {seen:?})"
    );
    for must in ["/member", "/participant", "/webhook/", "/user/"] {
        assert!(
            seen.iter().any(|u| u.contains(must)),
            "no {must} link followed: {seen:?}"
        );
    }
}

#[tokio::test]
async fn topic_members_and_participants_answer_as_hipchat() {
    let emu = hipkit_testkit::emulator()
        .rooms(&["Build Room"])
        .also_token("viewer:view_room".parse().unwrap())
        .start()
        .await;
    let api = emu.api();
    let (status, _, _) = api
        .call(
            Method::PUT,
            "/v2/room/Build%20Room/topic",
            Some(json!({"topic": "green since #42"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(api.get("/v2/room/1").await["topic"], "green since #42");
    let (status, _, body) = api
        .call(
            Method::PUT,
            "/v2/room/1/topic",
            Some(json!({"topic": "t".repeat(251)})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    hipkit_testkit::assert_envelope(&body, 400, "topic");
    let viewer = api.with_token("viewer");
    let (status, _, body) = viewer
        .call(Method::PUT, "/v2/room/1/topic", Some(json!({"topic": "x"})))
        .await;
    assert_eq!(status, 403, "{body}");
    hipkit_testkit::assert_envelope(&body, 403, "admin_room");

    let members = viewer.get("/v2/room/1/member").await;
    assert_eq!(members["items"][0]["mention_name"], "admin", "{members}");
    assert!(
        members["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/v2/room/1/member")
    );
    let participants = viewer
        .get("/v2/room/1/participant?include-offline=true")
        .await;
    assert_eq!(participants["items"], json!([]), "{participants}");
    for path in ["/v2/room/9/member", "/v2/room/9/participant"] {
        let (status, _, body) = viewer.call(Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
}
