//! The event stream: every change arrives once, in commit order, with its content, never
//! with a token; a subscriber that falls behind does not hold the emulator up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipchat::{Color, HistoryFrom, MessageType, Scope};
use hipkit_emulator::{EmulatorConfig, EmulatorEvent, FaultAction, Recipient};
use hipkit_testkit::{Api, Emulator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

const TOKEN: &str = "events-test-token-0123";
const ADDED: &str = "added-token-should-stay-secret";

async fn emulator(config: EmulatorConfig) -> Emulator {
    hipkit_testkit::EmulatorBuilder::from_config(config)
        .token(TOKEN)
        .rooms(&["Ops"])
        .users(&["bob@example.com"])
        .start()
        .await
}

/// Shares `data` as `name` with a `multipart/related` body, as HipChat expects.
async fn share_file(emu: &Emulator, path: &str, name: &str, data: &str) -> u16 {
    let body = format!(
        "--b0undary\r\nContent-Type: application/json; charset=UTF-8\r\n\
         Content-Disposition: attachment; name=\"metadata\"\r\n\r\n{{\"message\":\"see file\"}}\r\n\
         --b0undary\r\nContent-Type: text/plain\r\n\
         Content-Disposition: attachment; name=\"file\"; filename=\"{name}\"\r\n\r\n{data}\r\n\
         --b0undary--\r\n"
    );
    let req = emu
        .api()
        .request(Method::POST, path)
        .header("content-type", "multipart/related; boundary=b0undary")
        .body(body);
    Api::send(req).await.0
}

/// The next event; the timeout only turns a missing event into a failure instead of a hang.
async fn next(rx: &mut Receiver<EmulatorEvent>) -> EmulatorEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event arrives")
        .expect("no event is lost")
}

/// Everything already published to `rx`.
fn drain(rx: &mut Receiver<EmulatorEvent>) -> Vec<EmulatorEvent> {
    let mut out = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(e) => out.push(e),
            Err(TryRecvError::Lagged(_)) => continue,
            Err(_) => return out,
        }
    }
}

#[tokio::test]
async fn every_change_is_published_in_order_with_its_content() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let mut rx = emu.subscribe();
    let ops = "/v2/room/Ops";
    let api = emu.api();

    let notification = json!({"message": "build 7 passed", "color": "green", "from": "CI"});
    let note = "/v2/room/Ops/notification";
    let (s, _, _) = api.call(Method::POST, note, Some(notification)).await;
    assert_eq!(s, 204);
    let hi = json!({"message": "hi all"});
    let (s, _, answer) = api
        .call(Method::POST, "/v2/room/Ops/message", Some(hi))
        .await;
    assert_eq!(s, 201);
    let psst = json!({"message": "psst"});
    let (s, _, _) = api
        .call(Method::POST, "/v2/user/@bob/message", Some(psst))
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        share_file(&emu, &format!("{ops}/share/file"), "log.txt", "line 1").await,
        204
    );
    let (s, _, room) = api
        .call(Method::POST, "/v2/room", Some(json!({"name": "Temp"})))
        .await;
    assert_eq!(s, 201);
    let (s, _, _) = api.call(Method::DELETE, "/v2/room/Temp", None).await;
    assert_eq!(s, 204);
    let hook =
        json!({"url": "http://127.0.0.1:9/hook", "event": "room_message", "pattern": "^/go"});
    let (s, _, created) = api
        .call(Method::POST, "/v2/room/Ops/webhook", Some(hook))
        .await;
    assert_eq!(s, 201);
    let hook_id = created["id"].as_u64().unwrap();
    let (s, _, _) = api
        .call(Method::DELETE, &format!("{ops}/webhook/{hook_id}"), None)
        .await;
    assert_eq!(s, 204);
    let rule = json!({"path": "/v2/room/Ops/notification", "action": {"status": {"status": 503}}});
    let (s, _, _) = api
        .call(Method::POST, "/_emulator/faults", Some(rule))
        .await;
    assert_eq!(s, 201);
    let x = json!({"message": "x"});
    let (s, _, _) = api.call(Method::POST, note, Some(x)).await;
    assert_eq!(s, 503, "the fault answers");

    match next(&mut rx).await {
        EmulatorEvent::RoomNotification { room, item } => {
            assert_eq!((room.id, room.name.as_str()), (1, "Ops"));
            assert_eq!(item.message, "build 7 passed");
            assert_eq!(item.kind, MessageType::Notification);
            assert_eq!(item.color, Some(Color::Green));
            assert_eq!(item.from, HistoryFrom::Label("CI".into()));
        }
        other => panic!("expected a room notification, got {other:?}"),
    }
    match next(&mut rx).await {
        EmulatorEvent::RoomMessage { room, item } => {
            assert_eq!(room.name, "Ops");
            assert_eq!(item.message, "hi all");
            assert_eq!(
                json!(item.id),
                answer["id"],
                "the stored item is the answered one"
            );
        }
        other => panic!("expected a room message, got {other:?}"),
    }
    match next(&mut rx).await {
        EmulatorEvent::PrivateMessage { from, to, item } => {
            assert_eq!((from, to), (1, 2), "admin to bob");
            assert_eq!(item.message, "psst");
        }
        other => panic!("expected a private message, got {other:?}"),
    }
    match next(&mut rx).await {
        EmulatorEvent::FileShared {
            recipient: Recipient::Room(room),
            item,
        } => {
            assert_eq!(room.name, "Ops");
            assert_eq!(item.message, "see file");
            let file = item.file.expect("the item points at the file");
            assert_eq!((file.name.as_str(), file.size), ("log.txt", 6));
        }
        other => panic!("expected a file shared into Ops, got {other:?}"),
    }
    match next(&mut rx).await {
        EmulatorEvent::RoomCreated { room: r, owner, .. } => {
            assert_eq!(json!(r.id), room["id"]);
            assert_eq!((r.name.as_str(), owner), ("Temp", 1));
        }
        other => panic!("expected a created room, got {other:?}"),
    }
    assert!(
        matches!(next(&mut rx).await, EmulatorEvent::RoomDeleted { room } if room.name == "Temp")
    );
    match next(&mut rx).await {
        EmulatorEvent::WebhookRegistered { room, webhook } => {
            assert_eq!(room.name, "Ops");
            assert_eq!(webhook.id, hook_id);
            assert_eq!(webhook.pattern.as_deref(), Some("^/go"));
        }
        other => panic!("expected a webhook, got {other:?}"),
    }
    assert!(matches!(
        next(&mut rx).await,
        EmulatorEvent::WebhookDeleted { room, webhook_id } if room.name == "Ops" && webhook_id == hook_id
    ));
    let rule_id = match next(&mut rx).await {
        EmulatorEvent::FaultAdded { rule } => rule.id,
        other => panic!("expected a fault rule, got {other:?}"),
    };
    match next(&mut rx).await {
        EmulatorEvent::FaultHit {
            rule_id: hit,
            method,
            path,
            action,
            remaining,
        } => {
            assert_eq!((hit, remaining), (rule_id, 0));
            assert_eq!(
                (method.as_str(), path.as_str()),
                ("POST", "/v2/room/Ops/notification")
            );
            assert!(matches!(action, FaultAction::Status { status: 503, .. }));
        }
        other => panic!("expected a fault hit, got {other:?}"),
    }
    assert!(drain(&mut rx).is_empty(), "exactly one event per change");
    emu.shutdown().await;
}

#[tokio::test]
async fn control_changes_are_published_and_events_are_tagged_json_without_tokens() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let mut rx = emu.subscribe();
    let token = json!({"token": ADDED, "label": "ci-bot", "scopes": ["send_notification"]});
    assert_eq!(
        emu.api()
            .call(Method::POST, "/_emulator/tokens", Some(token))
            .await
            .0,
        201
    );
    // A token in the query string, and a fault hit on that request.
    let rule = json!({"path": "/v2/room", "action": {"delay": {"delay_ms": 0}}});
    assert_eq!(
        emu.api()
            .call(Method::POST, "/_emulator/faults", Some(rule))
            .await
            .0,
        201
    );
    let by_query = reqwest::Client::new()
        .post(format!(
            "{}/v2/room/Ops/notification?auth_token={ADDED}",
            emu.base_url
        ))
        .json(&json!({"message": "from the bot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        emu.api()
            .call(Method::DELETE, "/_emulator/faults", None)
            .await
            .0,
        204
    );
    assert_eq!(
        emu.api()
            .call(Method::POST, "/_emulator/reset", None)
            .await
            .0,
        204
    );

    let events = drain(&mut rx);
    let json: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    let types: Vec<&str> = json.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "token_added",
            "fault_added",
            "fault_hit",
            "room_notification",
            "faults_cleared",
            "world_reset"
        ]
    );
    assert!(matches!(
        &events[0],
        EmulatorEvent::TokenAdded { label, scopes } if label == "ci-bot" && scopes == &[Scope::SendNotification]
    ));
    assert_eq!(
        json[2]["path"], "/v2/room/Ops/notification",
        "no query string"
    );
    assert_eq!(json[3]["item"]["message"], "from the bot");
    assert_eq!(
        json[4]["removed"], 0,
        "the delay rule was spent by its one hit"
    );
    let text = serde_json::to_string(&json).unwrap();
    assert!(!text.contains(ADDED) && !text.contains(TOKEN), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_lagging_subscriber_neither_blocks_nor_breaks_the_emulator() {
    let emu = emulator(EmulatorConfig {
        event_capacity: 2,
        ..EmulatorConfig::ephemeral()
    })
    .await;
    let mut stalled = emu.subscribe();
    for i in 0..40 {
        let body = json!({"message": format!("n{i}")});
        let (s, _, _) = emu
            .api()
            .call(Method::POST, "/v2/room/Ops/notification", Some(body))
            .await;
        assert_eq!(s, 204, "answers while a subscriber is {i} events behind");
    }
    let (s, _, history) = emu
        .api()
        .call(
            Method::GET,
            "/v2/room/Ops/history/latest?max-results=1000",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        40,
        "nothing was lost from the world"
    );
    assert!(matches!(stalled.recv().await, Err(RecvError::Lagged(38))));
    let newest: Vec<String> = drain(&mut stalled)
        .into_iter()
        .map(|e| match e {
            EmulatorEvent::RoomNotification { item, .. } => item.message,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        newest,
        ["n38", "n39"],
        "after a lag it resumes with the newest events"
    );
    let mut fresh = emu.subscribe();
    emu.api()
        .call(
            Method::POST,
            "/v2/room/Ops/notification",
            Some(json!({"message": "later"})),
        )
        .await;
    assert!(
        matches!(next(&mut fresh).await, EmulatorEvent::RoomNotification { item, .. } if item.message == "later")
    );
    assert!(
        matches!(next(&mut stalled).await, EmulatorEvent::RoomNotification { item, .. } if item.message == "later")
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn retention_and_clearing_drop_private_messages_and_shared_files() {
    let emu = emulator(EmulatorConfig {
        retention: 2,
        ..EmulatorConfig::ephemeral()
    })
    .await;
    let api = emu.api();
    let stats = || async { api.get("/_emulator/stats").await };
    // A file in a private chat, then two more messages: the file's message and the file go.
    assert_eq!(
        share_file(&emu, "/v2/user/@bob/share/file", "a.txt", "aaa").await,
        204
    );
    for n in 0..3 {
        let (status, _, _) = api
            .call(
                Method::POST,
                "/v2/user/@bob/message",
                Some(json!({"message": format!("psst {n}")})),
            )
            .await;
        assert_eq!(status, 204);
    }
    let s = stats().await;
    assert_eq!(s["private_messages"], 2, "{s}");
    assert_eq!(s["files"], 0, "{s}");
    // A file in a room, pushed out by retention.
    assert_eq!(
        share_file(&emu, "/v2/room/Ops/share/file", "b.txt", "bbb").await,
        204
    );
    assert_eq!(stats().await["files"], 1);
    for n in 0..2 {
        api.notify("Ops", json!({"message": format!("n{n}")})).await;
    }
    let s = stats().await;
    assert_eq!(
        (s["room_messages"].clone(), s["files"].clone()),
        (json!(2), json!(0)),
        "{s}"
    );
    // A file in a room, dropped when the room is cleared.
    assert_eq!(
        share_file(&emu, "/v2/room/Ops/share/file", "c.txt", "ccc").await,
        204
    );
    assert_eq!(stats().await["files"], 1);
    // The UI's clear button is the way a room is cleared.
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/rooms/1/clear", emu.base_url))
        .header("origin", &emu.base_url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let s = stats().await;
    assert_eq!(
        (s["room_messages"].clone(), s["files"].clone()),
        (json!(0), json!(0)),
        "{s}"
    );
    emu.shutdown().await;
}
