//! HipChat's API v1 (`/v1/rooms/message`, `/v1/rooms/list`, `/v1/rooms/show`) over loopback:
//! form posts as djhipchat2 and python-simple-hipchat send them land in the room's history,
//! and every refusal has v1's status and error shape.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_emulator::{EmulatorConfig, RateSpec};
use hipkit_testkit::{Api, Emulator, assert_envelope};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "v1-test-token";

async fn emulator() -> Emulator {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .also_token("viewer-token:view_group".parse().unwrap())
        .also_token("notifier-token:send_notification".parse().unwrap())
        .rooms(&["Build Room", "Ops"])
        .start()
        .await
}

/// POSTs `form` to `/v1/rooms/message` with `query`, no header token.
async fn post_form(emu: &Emulator, query: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let api = Api::anonymous(emu.api().base());
    let req = api
        .request(Method::POST, &format!("/v1/rooms/message?{query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
    let (status, _, body) = Api::send(req).await;
    (status, body)
}

async fn get_v1(emu: &Emulator, path_and_query: &str) -> (u16, Value) {
    let api = Api::anonymous(emu.api().base());
    let (status, _, body) = Api::send(api.request(Method::GET, path_and_query)).await;
    (status, body)
}

fn form<'a>(room: &'a str, from: &'a str, message: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("room_id", room), ("from", from), ("message", message)]
}

#[tokio::test]
async fn messages_by_id_and_by_name_land_in_the_room() {
    let emu = emulator().await;
    // python-simple-hipchat: token in the query.
    let mut by_id = form("1", "Buildbot", "<b>green</b>");
    by_id.extend([
        ("message_format", "html"),
        ("notify", "1"),
        ("color", "green"),
    ]);
    let (status, body) = post_form(&emu, &format!("auth_token={TOKEN}"), &by_id).await;
    assert_eq!((status, body), (200, json!({"status": "sent"})));
    // djhipchat2: token and format=json in the form body, the room by name.
    let mut by_name = form("Build Room", "Django", "deployed");
    by_name.extend([
        ("message_format", "text"),
        ("notify", "0"),
        ("color", "yellow"),
        ("format", "json"),
        ("auth_token", TOKEN),
    ]);
    let (status, body) = post_form(&emu, "", &by_name).await;
    assert_eq!((status, body), (200, json!({"status": "sent"})));

    let history = emu.api().history("1").await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["type"], "notification");
    assert_eq!(history[0]["from"], "Buildbot");
    assert_eq!(history[0]["message"], "<b>green</b>");
    assert_eq!(history[0]["message_format"], "html");
    assert_eq!(history[0]["color"], "green");
    assert_eq!(history[1]["from"], "Django");
    assert_eq!(history[1]["message_format"], "text");
    assert_eq!(history[1]["color"], "yellow");
    // v1's defaults: html, yellow; and the request log keeps the path, never the token.
    let (status, _) = post_form(
        &emu,
        &format!("auth_token={TOKEN}"),
        &form("Ops", "a-b_c d", "x"),
    )
    .await;
    assert_eq!(status, 200);
    // Visible in the web UI's room page, sanitised HTML and all.
    let page =
        Api::send_text(Api::anonymous(emu.api().base()).request(Method::GET, "/rooms/1")).await;
    assert_eq!(page.0, 200);
    assert!(page.2.contains("<b>green</b>"), "{}", page.2);
    assert!(page.2.contains("deployed") && page.2.contains("Django"));
    let ops = emu.api().history("Ops").await;
    assert_eq!(ops[0]["message_format"], "html");
    assert_eq!(ops[0]["color"], "yellow");
    let log = emu.api().request_log().await;
    let v1: Vec<&Value> = log
        .iter()
        .filter(|l| l["path"] == "/v1/rooms/message")
        .collect();
    assert_eq!(v1.len(), 3, "{log:?}");
    assert!(!serde_json::to_string(&log).unwrap().contains(TOKEN));
}

#[tokio::test]
async fn rooms_list_and_show_answer_v1_objects() {
    let emu = emulator().await;
    let (status, body) = get_v1(&emu, "/v1/rooms/list?format=json&auth_token=viewer-token").await;
    assert_eq!(status, 200, "{body}");
    let rooms = body["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 2);
    assert_eq!(rooms[0]["room_id"], 1);
    assert_eq!(rooms[0]["name"], "Build Room");
    for key in [
        "topic",
        "last_active",
        "created",
        "owner_user_id",
        "is_archived",
        "is_private",
        "xmpp_jid",
    ] {
        assert!(rooms[0].get(key).is_some(), "{key} missing: {}", rooms[0]);
    }
    let (status, body) = get_v1(&emu, "/v1/rooms/show?room_id=2&auth_token=viewer-token").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["room"]["name"], "Ops");
    assert_eq!(body["room"]["participants"], json!([]));
    let (status, body) = get_v1(&emu, "/v1/rooms/show?room_id=Ops&auth_token=viewer-token").await;
    assert_eq!((status, &body["room"]["room_id"]), (200, &json!(2)));
}

/// Query, form, expected status, part of the expected message.
type Case<'a> = (String, Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn every_refusal_has_v1_status_and_shape() {
    let emu = emulator().await;
    let q = format!("auth_token={TOKEN}");
    let long_from = "f".repeat(16);
    let long_message = "m".repeat(10_001);
    let cases: Vec<Case> = vec![
        (
            String::new(),
            form("1", "a", "x"),
            401,
            "Auth token not found",
        ),
        (
            "auth_token=nope".into(),
            form("1", "a", "x"),
            401,
            "Auth token invalid",
        ),
        (
            "auth_token=viewer-token".into(),
            form("1", "a", "x"),
            403,
            "send_notification",
        ),
        (q.clone(), form("1", &long_from, "x"), 400, "`from`"),
        (q.clone(), form("1", "a.b", "x"), 400, "`from`"),
        (q.clone(), form("1", "", "x"), 400, "`from`"),
        (q.clone(), form("1", "a", ""), 400, "`message`"),
        (q.clone(), form("1", "a", &long_message), 400, "`message`"),
        (q.clone(), form("", "a", "x"), 400, "`room_id`"),
        (
            q.clone(),
            vec![
                ("room_id", "1"),
                ("from", "a"),
                ("message", "x"),
                ("color", "grey"),
            ],
            400,
            "`color`",
        ),
        (
            q.clone(),
            vec![
                ("room_id", "1"),
                ("from", "a"),
                ("message", "x"),
                ("message_format", "md"),
            ],
            400,
            "`message_format`",
        ),
        (
            q.clone(),
            vec![
                ("room_id", "1"),
                ("from", "a"),
                ("message", "x"),
                ("notify", "yes"),
            ],
            400,
            "`notify`",
        ),
        (
            format!("{q}&format=xml"),
            form("1", "a", "x"),
            400,
            "format=json",
        ),
        (
            q.clone(),
            form("No Such Room", "a", "x"),
            404,
            "Room not found",
        ),
    ];
    for (query, body, code, part) in cases {
        let (status, answer) = post_form(&emu, &query, &body).await;
        assert_eq!(status, code, "{query} {body:?}: {answer}");
        assert_envelope(&answer, code, part);
    }
    for (path, code, part) in [
        (
            "/v1/rooms/list?auth_token=notifier-token",
            403,
            "view_group",
        ),
        ("/v1/rooms/list", 401, "Auth token not found"),
        ("/v1/rooms/show?auth_token=viewer-token", 400, "`room_id`"),
        (
            "/v1/rooms/show?room_id=99&auth_token=viewer-token",
            404,
            "Room not found",
        ),
        ("/v1/rooms/show?room_id=1", 401, "Auth token not found"),
        (
            "/v1/users/nothing?auth_token=viewer-token",
            404,
            "not found",
        ),
        (
            "/v1/rooms/message?auth_token=v1-test-token",
            405,
            "Method not allowed",
        ),
    ] {
        let (status, answer) = get_v1(&emu, path).await;
        assert_eq!(status, code, "{path}: {answer}");
        assert_envelope(&answer, code, part);
    }
    assert!(emu.api().history("1").await.is_empty());
}

/// With one message allowed by `limit` (the token's rate limit or the room's flood
/// control), the second v1 message is refused with v1's 403 mentioning `part`.
async fn second_message_refused(limit: fn(&mut EmulatorConfig, RateSpec), part: &str) {
    let one = RateSpec {
        limit: 1,
        window_secs: 3600,
    };
    let emu = hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Build Room"])
        .also_token("reader:view_messages".parse().unwrap())
        .with(|c| limit(c, one))
        .start()
        .await;
    let q = format!("auth_token={TOKEN}");
    assert_eq!(post_form(&emu, &q, &form("1", "a", "x")).await.0, 200);
    let (status, answer) = post_form(&emu, &q, &form("1", "a", "y")).await;
    assert_eq!(status, 403, "{answer}");
    assert_envelope(&answer, 403, part);
    // Read with another token: the rate limit counts per token.
    let reader = emu.api().with_token("reader");
    assert_eq!(reader.history("1").await.len(), 1);
}

#[tokio::test]
async fn an_exhausted_rate_limit_is_v1s_403() {
    second_message_refused(|c, one| c.rate_limit = Some(one), "Rate limit exceeded").await;
}

#[tokio::test]
async fn exhausted_flood_control_is_v1s_403_too() {
    second_message_refused(|c, one| c.flood_limit = Some(one), "flood control").await;
}

#[tokio::test]
async fn fault_rules_apply_to_v1_as_to_v2() {
    let emu = emulator().await;
    let q = format!("auth_token={TOKEN}");
    emu.api()
        .add_fault(&json!({"path": "/v1/rooms/message", "times": 1,
            "action": {"status": {"status": 500, "message": "injected"}}}))
        .await;
    let (status, answer) = post_form(&emu, &q, &form("1", "a", "lost")).await;
    assert_eq!(status, 500, "{answer}");
    assert_envelope(&answer, 500, "injected");
    emu.api()
        .add_fault(&json!({"path": "/v1/", "times": 1, "action": "drop"}))
        .await;
    let api = Api::anonymous(emu.api().base());
    let dropped =
        Api::try_send_text(api.request(Method::GET, &format!("/v1/rooms/list?{q}"))).await;
    assert!(
        dropped.is_err(),
        "a dropped connection gives no answer: {dropped:?}"
    );
    // The rules are used up: the next calls are served.
    assert_eq!(post_form(&emu, &q, &form("1", "a", "kept")).await.0, 200);
    let history = emu.api().history("1").await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["message"], "kept");
    let log = emu.api().request_log().await;
    let statuses: Vec<&Value> = log
        .iter()
        .filter(|l| l["path"].as_str().is_some_and(|p| p.starts_with("/v1/")))
        .map(|l| &l["status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(0), &json!(200)], "{log:?}");
}
