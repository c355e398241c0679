//! The client against the real emulator over loopback HTTP: every method, every error class.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipchat::client::{AuthProbe, FileShare, HistoryQuery, LatestQuery, Paging};
use hipchat::{
    Client, Color, CreateRoom, CreateUser, CreateWebhook, Error, HistoryFrom, MessageFormat,
    MessageType, PrivateMessage, RoomMessage, RoomNotification, RoomRef, Scope, Token, UserRef,
    WebhookEvent,
};
use hipkit_emulator::{RunningEmulator, TokenSpec};
use hipkit_testkit::{Emulator, EmulatorBuilder};
use std::time::Duration;

const ADMIN: &str = "admin-token-0123456789";

/// An emulator with `rooms`, the user bob, the all-scopes `ADMIN` token and `extra` tokens.
async fn emulator(extra: Vec<TokenSpec>, rooms: &[&str]) -> Emulator {
    let builder = hipkit_testkit::emulator()
        .token(ADMIN)
        .rooms(rooms)
        .users(&["bob@example.com"]);
    extra
        .into_iter()
        .fold(builder, EmulatorBuilder::also_token)
        .start()
        .await
}

fn client(emu: &RunningEmulator, token: &str) -> Client {
    Client::builder(&emu.base_url, Token::new(token))
        .build()
        .expect("client builds")
}

#[tokio::test]
async fn notifications_land_in_history_with_every_field() {
    let emu = emulator(vec![], &["Build Room"]).await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("Build Room");
    let sent = c
        .send_notification(
            &room,
            &RoomNotification::new("<b>green</b>")
                .color(Color::Green)
                .notify(true)
                .from_label("CI")
                .format(MessageFormat::Html),
        )
        .await
        .unwrap();
    assert_eq!(sent.rate_limit.limit, Some(500));
    assert!(sent.rate_limit.remaining.is_some() && sent.rate_limit.reset.is_some());
    assert_eq!(sent.rate_limit.flood_limit, Some(30));
    c.send_notification(&room, &RoomNotification::new("plain"))
        .await
        .unwrap();

    let history = c
        .room_history(&room, &HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(history.items.len(), 2);
    let first = &history.items[0];
    assert_eq!(first.message, "<b>green</b>");
    assert_eq!(first.color, Some(Color::Green));
    assert_eq!(first.notify, Some(true));
    assert_eq!(first.kind, MessageType::Notification);
    assert_eq!(first.from, HistoryFrom::Label("CI".into()));
    assert_eq!(
        history.items[1].color,
        Some(Color::Yellow),
        "default colour"
    );
    assert_eq!(history.items[1].message_format, Some(MessageFormat::Html));
    emu.shutdown().await;
}

#[tokio::test]
async fn cards_are_kept_in_history() {
    let emu = emulator(vec![], &["Cards"]).await;
    let c = client(&emu, ADMIN);
    let mut n = RoomNotification::new("fallback");
    n.card = Some(
        serde_json::from_value(serde_json::json!({
            "style": "application", "title": "Build #42", "format": "medium",
            "description": {"value": "<b>passed</b>", "format": "html"},
            "url": "https://ci.example/42", "id": "build-42"
        }))
        .unwrap(),
    );
    c.send_notification(&RoomRef::parse("Cards"), &n)
        .await
        .unwrap();
    let latest = c
        .room_latest_history(&RoomRef::parse("Cards"), &LatestQuery::default())
        .await
        .unwrap();
    let card = latest.items[0].card.as_ref().expect("card stored");
    assert_eq!(card["title"], "Build #42");
    assert_eq!(card["description"]["format"], "html");
    emu.shutdown().await;
}

#[tokio::test]
async fn room_names_with_spaces_and_symbols_are_percent_encoded() {
    let name = "Ops & Dev + QA/2 ü";
    let emu = emulator(vec![], &[]).await;
    let c = client(&emu, ADMIN);
    let created = c.create_room(&CreateRoom::named(name)).await.unwrap();
    let room = c.get_room(&RoomRef::parse(name)).await.unwrap();
    assert_eq!(room.id, created.id);
    assert_eq!(room.name, name);
    c.send_notification(&RoomRef::parse(name), &RoomNotification::new("x"))
        .await
        .unwrap();
    let paths: Vec<String> = emu
        .api()
        .request_log()
        .await
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        paths.contains(&"/v2/room/Ops%20%26%20Dev%20%2B%20QA%2F2%20%C3%BC/notification".to_owned()),
        "{paths:?}"
    );
    // A `+` for a space is a different room name, as on HipChat.
    let (plus, _, _) = emu
        .api()
        .call(reqwest::Method::GET, "/v2/room/Build+Room", None)
        .await;
    assert_eq!(plus, 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn rooms_create_get_list_page_and_delete() {
    let emu = emulator(vec![], &[]).await;
    let c = client(&emu, ADMIN);
    for i in 0..5 {
        c.create_room(&CreateRoom::named(format!("room {i}")))
            .await
            .unwrap();
    }
    let page = c
        .list_rooms(
            Paging {
                start_index: Some(1),
                max_results: Some(2),
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].name, "room 1");
    assert_eq!(page.start_index, 1);
    assert_eq!(page.max_results, 2);
    let next = page.links.next.as_deref().expect("next link");
    assert!(next.starts_with(&emu.base_url), "absolute links: {next}");
    assert!(next.contains("start-index=3"));
    assert!(
        page.links
            .prev
            .as_deref()
            .unwrap()
            .contains("start-index=0")
    );
    let last = c
        .list_rooms(
            Paging {
                start_index: Some(4),
                max_results: Some(2),
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
    assert!(last.links.next.is_none());

    let room = c.get_room(&RoomRef::Id(1)).await.unwrap();
    assert_eq!(room.owner.as_ref().unwrap().mention_name, "admin");
    assert_eq!(
        room.links.self_.as_deref(),
        Some(format!("{}/v2/room/1", emu.base_url).as_str())
    );
    let dup = c
        .create_room(&CreateRoom::named("ROOM 0"))
        .await
        .unwrap_err();
    assert!(matches!(dup, Error::BadRequest(ref e) if e.message.contains("Another room")));
    c.delete_room(&RoomRef::Id(1)).await.unwrap();
    assert!(matches!(
        c.get_room(&RoomRef::Id(1)).await.unwrap_err(),
        Error::NotFound(_)
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn users_create_get_by_id_email_and_mention_and_list() {
    let emu = emulator(vec![], &[]).await;
    let c = client(&emu, ADMIN);
    let created = c
        .create_user(&CreateUser {
            name: "Carol Jones".into(),
            email: "carol@example.com".into(),
            mention_name: Some("carol".into()),
            ..CreateUser::default()
        })
        .await
        .unwrap();
    for r in ["carol@example.com", "@carol"] {
        let u = c.get_user(&UserRef::parse(r)).await.unwrap();
        assert_eq!(u.id, created.id);
        assert_eq!(u.email.as_deref(), Some("carol@example.com"));
    }
    let by_id = c.get_user(&UserRef::Id(created.id)).await.unwrap();
    assert_eq!(by_id.name, "Carol Jones");
    let all = c.list_users(Paging::default()).await.unwrap();
    let names: Vec<&str> = all.items.iter().map(|u| u.mention_name.as_str()).collect();
    assert_eq!(names, vec!["admin", "bob", "carol"]);
    assert!(matches!(
        c.get_user(&UserRef::parse("nobody@example.com")).await.unwrap_err(),
        Error::NotFound(ref e) if e.message == "User not found"
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn room_messages_and_private_chats_have_their_own_histories() {
    let emu = emulator(vec![], &["Chat"]).await;
    let c = client(&emu, ADMIN);
    let made = c
        .send_room_message(
            &RoomRef::parse("Chat"),
            &RoomMessage {
                message: "hi room".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(made.id.len(), 36);
    let bob = UserRef::parse("bob@example.com");
    for text in ["one", "two", "three"] {
        c.send_private_message(&bob, &PrivateMessage::new(text))
            .await
            .unwrap();
    }
    let room = c
        .room_latest_history(&RoomRef::parse("Chat"), &LatestQuery::default())
        .await
        .unwrap();
    assert_eq!(room.items.len(), 1);
    assert_eq!(room.items[0].id, made.id);
    assert!(matches!(room.items[0].from, HistoryFrom::User(ref u) if u.mention_name == "admin"));

    let chat = c
        .private_latest_history(&bob, &LatestQuery::default())
        .await
        .unwrap();
    let texts: Vec<&str> = chat.items.iter().map(|m| m.message.as_str()).collect();
    assert_eq!(texts, vec!["one", "two", "three"]);
    assert_eq!(chat.items[0].message_format, Some(MessageFormat::Text));
    let since_two = c
        .private_latest_history(
            &UserRef::parse("@bob"),
            &LatestQuery {
                max_results: Some(10),
                not_before: Some(chat.items[1].id.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(since_two.items.len(), 2);
    let last_one = c
        .private_latest_history(
            &bob,
            &LatestQuery {
                max_results: Some(1),
                not_before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(last_one.items[0].message, "three");
    emu.shutdown().await;
}

#[tokio::test]
async fn history_by_date_pages_newest_first_and_reverses_each_page() {
    let emu = emulator(vec![], &["Hist"]).await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("Hist");
    for i in 0..7 {
        c.send_notification(&room, &RoomNotification::new(format!("m{i}")))
            .await
            .unwrap();
    }
    let now = chrono::Utc::now().to_rfc3339();
    let query = |start, reverse| HistoryQuery {
        date: Some(now.clone()),
        end_date: None,
        reverse: Some(reverse),
        paging: Paging {
            start_index: Some(start),
            max_results: Some(3),
        },
    };
    let texts = |p: &hipchat::Page<hipchat::HistoryItem>| {
        p.items
            .iter()
            .map(|m| m.message.clone())
            .collect::<Vec<_>>()
    };
    let first = c.room_history(&room, &query(0, true)).await.unwrap();
    assert_eq!(texts(&first), vec!["m4", "m5", "m6"]);
    assert!(first.links.next.is_some());
    let second = c.room_history(&room, &query(3, false)).await.unwrap();
    assert_eq!(texts(&second), vec!["m3", "m2", "m1"]);
    let past = HistoryQuery {
        date: Some("2001-01-01T00:00:00+00:00".into()),
        ..HistoryQuery::default()
    };
    assert!(c.room_history(&room, &past).await.unwrap().items.is_empty());
    let recent = c
        .room_history(
            &room,
            &HistoryQuery {
                date: Some("recent".into()),
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 7);
    let bad = HistoryQuery {
        date: Some("yesterday".into()),
        ..HistoryQuery::default()
    };
    assert!(matches!(
        c.room_history(&room, &bad).await.unwrap_err(),
        Error::BadRequest(_)
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn shared_files_appear_in_history_and_download() {
    let emu = emulator(vec![], &["Files"]).await;
    let c = client(&emu, ADMIN);
    let file = FileShare {
        message: Some("the log".into()),
        filename: "build log.txt".into(),
        content_type: "text/plain".into(),
        data: bytes::Bytes::from_static(b"line 1\r\n--not a boundary\r\nline 3"),
    };
    c.share_file_with_room(&RoomRef::parse("Files"), &file)
        .await
        .unwrap();
    c.share_file_with_user(&UserRef::parse("@bob"), &file)
        .await
        .unwrap();
    let room = c
        .room_latest_history(&RoomRef::parse("Files"), &LatestQuery::default())
        .await
        .unwrap();
    let chat = c
        .private_latest_history(&UserRef::parse("@bob"), &LatestQuery::default())
        .await
        .unwrap();
    for item in [&room.items[0], &chat.items[0]] {
        assert_eq!(item.message, "the log");
        let info = item.file.as_ref().expect("file in history");
        assert_eq!(info.name, "build log.txt");
        assert_eq!(info.size, file.data.len() as u64);
        let body = reqwest::get(&info.url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body, file.data);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn webhooks_create_list_delete() {
    let emu = emulator(vec![], &["Hooks"]).await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("Hooks");
    let hook = CreateWebhook {
        url: "https://integrations.example/hook".into(),
        event: WebhookEvent::RoomMessage,
        pattern: Some("^/deploy".into()),
        name: Some("deploy".into()),
        authentication: None,
    };
    let made = c.create_webhook(&room, &hook).await.unwrap();
    let listed = c.list_webhooks(&room, Paging::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, made.id);
    assert_eq!(listed.items[0].pattern.as_deref(), Some("^/deploy"));
    c.delete_webhook(&room, made.id).await.unwrap();
    assert!(matches!(
        c.delete_webhook(&room, made.id).await.unwrap_err(),
        Error::NotFound(ref e) if e.message == "Webhook not found"
    ));
    assert!(
        c.list_webhooks(&room, Paging::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_errors_scopes_and_auth_test() {
    let notify_only = TokenSpec {
        token: Token::new("notify-only-token"),
        scopes: vec![Scope::SendNotification],
    };
    let emu = emulator(vec![notify_only], &["Ops"]).await;
    let room = RoomRef::parse("Ops");
    let limited = client(&emu, "notify-only-token");
    limited
        .auth_test(&AuthProbe::RoomNotification(room.clone()))
        .await
        .expect("202 for an allowed action");
    match limited.auth_test(&AuthProbe::ListRooms).await.unwrap_err() {
        Error::Forbidden {
            required_scopes, ..
        } => assert_eq!(required_scopes, vec!["view_group", "view_room"]),
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(matches!(
        limited.list_users(Paging::default()).await.unwrap_err(),
        Error::Forbidden { .. }
    ));
    // auth_test skipped the action: nothing reached the room.
    let admin = client(&emu, ADMIN);
    let hist = admin
        .room_latest_history(&room, &LatestQuery::default())
        .await
        .unwrap();
    assert!(hist.items.is_empty());

    let bad = client(&emu, "wrong-secret-token");
    let err = bad
        .send_notification(&room, &RoomNotification::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(ref e) if e.message == "Invalid OAuth session"));
    assert!(!format!("{err} {err:?}").contains("wrong-secret-token"));

    let anonymous = reqwest::get(format!("{}/v2/room", emu.base_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Authenticated requests only")
    );
    let by_query = reqwest::get(format!("{}/v2/room?auth_token={ADMIN}", emu.base_url))
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn validation_failures_never_reach_the_server() {
    let emu = emulator(vec![], &["V"]).await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("V");
    let cases: Vec<(RoomNotification, &str)> = vec![
        (RoomNotification::new(""), "message"),
        (RoomNotification::new("x".repeat(10_001)), "message"),
        (
            RoomNotification::new("x").from_label("f".repeat(65)),
            "from",
        ),
    ];
    for (n, field) in cases {
        match c.send_notification(&room, &n).await.unwrap_err() {
            Error::Validation(e) => assert_eq!(e.field, field),
            other => panic!("expected validation error, got {other:?}"),
        }
    }
    let long_room = c.create_room(&CreateRoom::named("r".repeat(51))).await;
    assert!(matches!(long_room, Err(Error::Validation(ref e)) if e.field == "name"));
    let long_msg = c
        .send_room_message(
            &room,
            &RoomMessage {
                message: "m".repeat(1001),
            },
        )
        .await;
    assert!(matches!(long_msg, Err(Error::Validation(_))));
    assert!(emu.api().request_log().await.is_empty(), "nothing was sent");
    emu.shutdown().await;
}

#[tokio::test]
async fn injected_faults_map_to_typed_errors() {
    let emu = emulator(vec![], &["F"]).await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("F");
    let note = RoomNotification::new("x");
    let send = || c.send_notification(&room, &note);

    emu.api().add_fault(&serde_json::json!({"path": "/v2/room/F/notification", "action": {"status": {"status": 503}}})).await;
    let err = send().await.unwrap_err();
    assert!(matches!(err, Error::Server(ref e) if e.code == 503));
    assert!(err.is_retryable());

    emu.api().add_fault(&serde_json::json!({"method": "POST", "action": {"status": {"status": 400, "message": "nope"}}})).await;
    let err = send().await.unwrap_err();
    assert!(matches!(err, Error::BadRequest(ref e) if e.message == "nope"));
    assert!(!err.is_retryable());

    emu.api()
        .add_fault(&serde_json::json!({"action": "drop"}))
        .await;
    assert!(matches!(
        send().await.unwrap_err(),
        Error::Network { timeout: false, .. }
    ));

    emu.api()
        .add_fault(&serde_json::json!({"action": {"delay": {"delay_ms": 2000}}}))
        .await;
    let impatient = Client::builder(&emu.base_url, Token::new(ADMIN))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(matches!(
        impatient
            .send_notification(&room, &RoomNotification::new("slow"))
            .await
            .unwrap_err(),
        Error::Network { timeout: true, .. }
    ));

    send()
        .await
        .expect("faults are spent; the server keeps serving");
    emu.shutdown().await;
}

#[tokio::test]
async fn rate_limited_answers_carry_the_reset_and_hold_until_it() {
    let emu = emulator(vec![], &["R"]).await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("R");
    emu.api()
        .add_fault(&serde_json::json!({"action": {"status": {"status": 429, "reset_in": 30}}}))
        .await;
    let before = std::time::SystemTime::now();
    let err = c
        .send_notification(&room, &RoomNotification::new("x"))
        .await
        .unwrap_err();
    let Error::RateLimited { rate_limit, .. } = err else {
        panic!("expected 429, got {err:?}");
    };
    let retry_at = rate_limit.retry_at().expect("reset parsed");
    assert!(retry_at > before + Duration::from_secs(20));
    assert_eq!(rate_limit.remaining, Some(0));
    // The token stays limited until the reset, like HipChat.
    assert!(matches!(
        c.send_notification(&room, &RoomNotification::new("y"))
            .await
            .unwrap_err(),
        Error::RateLimited { .. }
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn enforced_rate_limit_answers_429_after_n_requests() {
    let emu = hipkit_testkit::emulator()
        .token(ADMIN)
        .rooms(&["L"])
        .with(|c| c.rate_limit = Some("3/3600".parse().unwrap()))
        .start()
        .await;
    let c = client(&emu, ADMIN);
    let room = RoomRef::parse("L");
    for _ in 0..3 {
        c.send_notification(&room, &RoomNotification::new("x"))
            .await
            .unwrap();
    }
    let err = c
        .send_notification(&room, &RoomNotification::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { rate_limit, .. } if rate_limit.limit == Some(3)));
    emu.shutdown().await;
}

#[tokio::test]
async fn tls_is_verified_unless_explicitly_disabled() {
    let emu = hipkit_testkit::emulator()
        .token(ADMIN)
        .rooms(&["T"])
        .with(|c| c.tls = true)
        .start()
        .await;
    assert!(emu.base_url.starts_with("https://"));
    let verifying = client(&emu, ADMIN);
    assert!(matches!(
        verifying
            .send_notification(&RoomRef::parse("T"), &RoomNotification::new("x"))
            .await,
        Err(Error::Network { .. })
    ));
    let trusting = Client::builder(&emu.base_url, Token::new(ADMIN))
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    trusting
        .send_notification(&RoomRef::parse("T"), &RoomNotification::new("over tls"))
        .await
        .unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn unreachable_server_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = Client::builder(format!("http://{addr}"), Token::new("t"))
        .build()
        .unwrap();
    let err = c
        .send_notification(&RoomRef::Id(1), &RoomNotification::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
}
