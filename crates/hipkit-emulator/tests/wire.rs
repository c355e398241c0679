//! Bad input on the wire: every case gets HipChat's status and error envelope, and the
//! server keeps serving.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_emulator::EmulatorConfig;
use hipkit_testkit::{Api, Emulator, assert_envelope};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "wire-test-token";

async fn emulator(config: EmulatorConfig) -> Emulator {
    hipkit_testkit::EmulatorBuilder::from_config(config)
        .token(TOKEN)
        .also_token("viewer:view_group".parse().unwrap())
        .rooms(&["Wire"])
        .start()
        .await
}

/// Sends a raw request; returns status, rate-limit header presence and the JSON body.
async fn raw(
    emu: &Emulator,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, bool, Value) {
    let mut req = emu.api().request(method, path).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let (status, headers, body) = Api::send(req).await;
    let has_headers = [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ]
    .iter()
    .all(|h| headers.contains_key(*h));
    (StatusCode::from_u16(status).unwrap(), has_headers, body)
}

#[tokio::test]
async fn malformed_input_gets_precise_errors_and_the_server_keeps_serving() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let post = reqwest::Method::POST;
    let path = "/v2/room/Wire/notification";
    let json_ct = Some("application/json");

    let cases: Vec<(Option<&str>, Vec<u8>, u16, &str)> = vec![
        (
            None,
            br#"{"message":"x"}"#.to_vec(),
            400,
            "Invalid content type",
        ),
        (
            Some("text/plain"),
            br#"{"message":"x"}"#.to_vec(),
            400,
            "Invalid content type",
        ),
        (json_ct, b"{not json".to_vec(), 400, "Malformed JSON"),
        (
            json_ct,
            br#"{"message": 5}"#.to_vec(),
            400,
            "Invalid request body",
        ),
        (json_ct, br#"{"notify": true}"#.to_vec(), 400, "message"),
        (
            json_ct,
            br#"{"message":"x","color":"magenta"}"#.to_vec(),
            400,
            "magenta",
        ),
        (
            json_ct,
            br#"{"message":"x","message_format":"markdown"}"#.to_vec(),
            400,
            "markdown",
        ),
        (
            json_ct,
            br#"{"message":""}"#.to_vec(),
            400,
            "between 1 and 10000",
        ),
        (
            json_ct,
            json!({"message": "x".repeat(10_001)})
                .to_string()
                .into_bytes(),
            400,
            "between 1 and 10000",
        ),
        (
            json_ct,
            json!({"message": "x", "from": "f".repeat(65)})
                .to_string()
                .into_bytes(),
            400,
            "`from`",
        ),
        (json_ct, vec![b'a'; (1 << 20) + 1], 413, "too large"),
    ];
    for (ct, body, code, part) in cases {
        let (status, headers, answer) = raw(&emu, post.clone(), path, ct, body).await;
        assert_eq!(status.as_u16(), code, "{answer}");
        assert!(headers, "rate-limit headers on every answer");
        assert_envelope(&answer, code, part);
    }
    let (status, _, answer) = raw(
        &emu,
        post.clone(),
        "/v2/room/Nope/notification",
        json_ct,
        br#"{"message":"x"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    assert_envelope(&answer, 404, "Room not found");
    let (status, _, answer) = raw(&emu, reqwest::Method::PATCH, path, json_ct, vec![]).await;
    assert_eq!(status, 405);
    assert_envelope(&answer, 405, "Method not allowed");
    let (status, _, answer) =
        raw(&emu, reqwest::Method::GET, "/v2/nothing/here", None, vec![]).await;
    assert_eq!(status, 404);
    assert_envelope(&answer, 404, "not found");
    let (status, _, _) = raw(
        &emu,
        post,
        path,
        json_ct,
        br#"{"message":"still here","notify":"true"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 204, "the server keeps serving");
    emu.shutdown().await;
}

#[tokio::test]
async fn scope_checks_name_every_acceptable_scope() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/room/Wire/notification", emu.base_url))
        .bearer_auth("viewer")
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_envelope(&body, 403, "[u'send_notification']");
    let listed = reqwest::Client::new()
        .get(format!("{}/v2/room", emu.base_url))
        .bearer_auth("viewer")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn flood_control_limits_each_recipient_separately() {
    let emu = emulator(EmulatorConfig {
        flood_limit: Some("2/3600".parse().unwrap()),
        rooms: vec![],
        ..EmulatorConfig::ephemeral()
    })
    .await;
    let client = reqwest::Client::new();
    client
        .post(format!("{}/v2/room", emu.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Second"}))
        .send()
        .await
        .unwrap();
    let send = |room: &'static str| {
        client
            .post(format!("{}/v2/room/{room}/notification", emu.base_url))
            .bearer_auth(TOKEN)
            .json(&json!({"message": "x"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(send("Wire").await.unwrap().status(), 204);
    }
    let limited = send("Wire").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["x-floodcontrol-remaining"], "0");
    assert!(limited.headers().contains_key("x-floodcontrol-reset"));
    assert_eq!(
        send("Second").await.unwrap().status(),
        204,
        "other rooms unaffected"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn control_api_requires_an_admin_token_and_lists_requests_without_secrets() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/_emulator/requests", emu.base_url);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        client
            .get(&url)
            .bearer_auth("viewer")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    client
        .get(format!("{}/v2/room?auth_token={TOKEN}", emu.base_url))
        .send()
        .await
        .unwrap();
    let log = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    let text = log.text().await.unwrap();
    assert!(text.contains("\"/v2/room\""), "{text}");
    assert!(text.contains("token-1"));
    assert!(!text.contains(TOKEN), "the request log never holds tokens");

    let bad_rule = client
        .post(format!("{}/_emulator/faults", emu.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"action": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_rule.status(), 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn capabilities_and_web_ui_answer_without_a_token() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let caps = reqwest::get(format!("{}/v2/capabilities", emu.base_url))
        .await
        .unwrap();
    assert_eq!(caps.headers()["x-ratelimit-limit"], "500");
    assert!(caps.headers().contains_key("x-ratelimit-reset"));
    let caps: Value = caps.json().await.unwrap();
    assert_eq!(
        caps["links"]["self"],
        format!("{}/v2/capabilities", emu.base_url)
    );
    reqwest::Client::new()
        .post(format!("{}/v2/room/Wire/notification", emu.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"message": "<script>alert(1)</script>", "color": "red"}))
        .send()
        .await
        .unwrap();
    let page = reqwest::get(format!("{}/", emu.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Wire"));
    assert!(
        !page.contains("<script>alert"),
        "no script from a message reaches the page"
    );
    assert!(!page.contains(TOKEN));
    emu.shutdown().await;
}

#[tokio::test]
async fn every_json_endpoint_answers_bad_bodies_alike() {
    let emu = emulator(EmulatorConfig {
        users: vec!["bob@example.com".into()],
        ..EmulatorConfig::ephemeral()
    })
    .await;
    let post = reqwest::Method::POST;
    let json_ct = Some("application/json");
    // Each JSON endpoint with a body that breaks one of its limits, and the field named.
    let endpoints: [(&str, Value, &str); 7] = [
        ("/v2/room/Wire/message", json!({"message": ""}), "`message`"),
        ("/v2/user/@bob/message", json!({"message": ""}), "`message`"),
        ("/v2/room", json!({"name": ""}), "`name`"),
        (
            "/v2/room/Wire/webhook",
            json!({"url": "ftp://x", "event": "room_message"}),
            "`url`",
        ),
        (
            "/v2/user",
            json!({"name": "Al", "email": "nope"}),
            "`email`",
        ),
        (
            "/_emulator/faults",
            json!({"action": "explode"}),
            "Invalid request body",
        ),
        (
            "/_emulator/tokens",
            json!({"token": "", "label": "x"}),
            "token and label must not be empty",
        ),
    ];
    for (path, invalid, named) in endpoints {
        let valid_json = br#"{"message":"x"}"#.to_vec();
        let cases: [(Option<&str>, Vec<u8>, u16, &str); 5] = [
            (None, valid_json.clone(), 400, "Invalid content type"),
            (Some("text/plain"), valid_json, 400, "Invalid content type"),
            (json_ct, b"{not json".to_vec(), 400, "Malformed JSON"),
            (json_ct, invalid.to_string().into_bytes(), 400, named),
            (json_ct, vec![b'a'; (1 << 20) + 1], 413, "too large"),
        ];
        for (ct, body, code, part) in cases {
            let (status, _, answer) = raw(&emu, post.clone(), path, ct, body).await;
            assert_eq!(status.as_u16(), code, "{path}: {answer}");
            assert_envelope(&answer, code, part);
        }
    }
    emu.shutdown().await;
}

/// Sends `body` as `token` (or without one) and returns the status.
async fn status_as(
    emu: &Emulator,
    token: Option<&str>,
    path: &str,
    ct: &str,
    body: Vec<u8>,
) -> u16 {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", emu.base_url))
        .header("content-type", ct)
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn body_size_then_scope_then_content_is_the_order_of_checks() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let big = || vec![b'a'; (1 << 20) + 1];
    let note = "/v2/room/Wire/notification";
    assert_eq!(
        status_as(&emu, Some("viewer"), note, "application/json", big()).await,
        413
    );
    assert_eq!(
        status_as(&emu, Some("viewer"), note, "text/plain", b"{".to_vec()).await,
        403
    );
    let probe = format!("{note}?auth_test=true");
    assert_eq!(
        status_as(&emu, Some(TOKEN), &probe, "text/plain", b"{".to_vec()).await,
        202
    );
    let faults = "/_emulator/faults";
    assert_eq!(
        status_as(&emu, None, faults, "application/json", big()).await,
        413
    );
    assert_eq!(
        status_as(&emu, None, faults, "text/plain", b"{".to_vec()).await,
        401
    );
    assert_eq!(
        status_as(&emu, Some("viewer"), faults, "text/plain", b"{".to_vec()).await,
        403
    );
    let rule = br#"{"action":"drop","times":1}"#.to_vec();
    let probe = format!("{faults}?auth_test=true");
    assert_eq!(
        status_as(&emu, Some(TOKEN), &probe, "application/json", rule).await,
        201,
        "auth_test is a /v2 feature: the control API acts"
    );
    emu.shutdown().await;
}
