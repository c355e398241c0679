//! Signed webhooks: the emulator fires a registered webhook with a JWT, the integration runs
//! and its reply and helper calls land in the room; forged, expired, foreign and missing
//! tokens are refused with 401.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod common;

use common::*;
use hipchat::jwt::{JwtSecret, WebhookClaims};
use hipkit_emulator::EmulatorEvent;
use hipkit_integrations::IntegrationsConfig;
use serde_json::json;

const SECRET: &str = "shared-webhook-secret";

fn signed_config() -> IntegrationsConfig {
    IntegrationsConfig {
        jwt_secret: Some(JwtSecret::new(SECRET)),
        jwt_issuer: Some("hipkit-emulator".into()),
        ..IntegrationsConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_fired_by_the_emulator_runs_the_script_and_lands_in_the_room() {
    let emu = emulator_builder()
        .with(|c| c.webhook_secret = Some(JwtSecret::new(SECRET)))
        .start()
        .await;
    let room = room_id(&emu).await;
    let (dir, db, _data) = folders();
    write(
        dir.path(),
        "deploy.py",
        "from hipchat.messages import send_message\n\
         def run_integration(notification, query, token, log):\n    \
         send_message(token, notification.item.room.id, 'deploying ' + query)\n    \
         return {'message': 'deployed ' + query, 'color': 'green', 'message_format': 'text'}\n",
        0o644,
    );
    let mut config = signed_config();
    config.tokens = vec![format!("{room}:deploy:{TOKEN}").parse().unwrap()];
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    let http = reqwest::Client::new();
    let hook = http
        .post(format!("{}/v2/room/{room}/webhook", emu.base_url))
        .bearer_auth(TOKEN)
        .json(
            &json!({"url": format!("{}/hooks/hipchat", stack.base), "event": "room_message",
                      "pattern": "^/deploy", "name": "deployer", "authentication": "jwt"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 201);
    let mut events = emu.subscribe();
    let posted = http
        .post(format!("{}/v2/room/{room}/message", emu.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"message": "/deploy api staging"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    loop {
        match events.recv().await.unwrap() {
            EmulatorEvent::WebhookFired { outcome, .. } => {
                assert_eq!(format!("{outcome:?}"), "Replied", "{outcome:?}");
            }
            EmulatorEvent::RoomNotification { item, .. } => {
                assert_eq!(item.message, "deployed api staging");
                break;
            }
            _ => {}
        }
    }
    let texts: Vec<String> = emu
        .api()
        .history("Build Room")
        .await
        .iter()
        .map(|i| i["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "/deploy api staging",
            "deploying api staging",
            "deployed api staging"
        ]
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_foreign_and_missing_tokens_are_refused() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(
        dir.path(),
        "ok.py",
        "def run_integration():\n    return 'ran'\n",
        0o644,
    );
    let stack = Stack::start(dir.path(), &db, &emu, signed_config()).await;
    let sign = |secret: &str, claims: &WebhookClaims| {
        hipchat::jwt::sign(&JwtSecret::new(secret), claims).unwrap()
    };
    let fresh = WebhookClaims::for_call("hipkit-emulator", Some(1), 1);
    let mut expired = fresh.clone();
    expired.iat = 1_000;
    expired.exp = 2_000;
    let foreign = WebhookClaims::for_call("someone-else", Some(1), 1);
    let mut forever = fresh.clone();
    forever.exp = fresh.iat + 30 * 365 * 86_400;
    let mut future = fresh.clone();
    future.iat = fresh.iat + 365 * 86_400;
    let mut not_before = fresh.clone();
    not_before.nbf = Some(fresh.iat + 365 * 86_400);
    let http = reqwest::Client::new();
    // The body names the installation the tokens are signed by (as the emulator's do).
    let mut body = webhook(1, "/ok");
    body["oauth_client_id"] = json!("hipkit-emulator");
    let send = |auth: Option<String>, query: &str| {
        let mut req = http
            .post(format!("{}/hooks/hipchat{query}", stack.base))
            .json(&body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    for (auth, expected) in [
        (None, "no JWT"),
        (Some(format!("JWT {}", sign("forged", &fresh))), "signature"),
        (Some(format!("JWT {}", sign(SECRET, &expired))), "expired"),
        (Some(format!("JWT {}", sign(SECRET, &foreign))), "issuer"),
        (Some(format!("JWT {}", sign(SECRET, &forever))), "too long"),
        (Some(format!("JWT {}", sign(SECRET, &future))), "`iat`"),
        (Some(format!("JWT {}", sign(SECRET, &not_before))), "`nbf`"),
        (Some("JWT not.a.jwt".into()), "malformed"),
    ] {
        let resp = send(auth, "").await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: serde_json::Value = resp.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
    // Not even non-commands are answered unsigned.
    let resp = http
        .post(format!("{}/hooks/hipchat", stack.base))
        .json(&webhook(1, "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let good = sign(SECRET, &fresh);
    for (auth, query) in [
        (Some(format!("JWT {good}")), String::new()),
        (None, format!("?signed_request={good}")),
    ] {
        let resp = send(auth, &query).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["message"], "ran");
    }
    stack.stop().await;
}

/// Issue 20 point 4: a valid token is bound to its room and its installation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_for_one_room_runs_nothing_for_another() {
    let emu = emulator().await;
    let (dir, db, data) = folders();
    let ran = data.path().join("ran");
    write(
        dir.path(),
        "ok.py",
        &format!(
            "def run_integration(token):\n    open({:?}, 'a').write(str(token) + '\\n')\n    \
             return 'ran'\n",
            ran.display().to_string()
        ),
        0o644,
    );
    let mut config = signed_config();
    config.tokens = vec![
        "1:ok:room-one-token".parse().unwrap(),
        "2:ok:room-two-token".parse().unwrap(),
    ];
    config.room_issuers = [("3".to_owned(), "room-three-install".to_owned())].into();
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    let http = reqwest::Client::new();
    let post = |room: u64, client: &str, signed_room: u64| {
        let mut body = webhook(room, "/ok");
        body["oauth_client_id"] = json!(client);
        let claims = WebhookClaims::for_call("hipkit-emulator", Some(1), signed_room);
        let jwt = hipchat::jwt::sign(&JwtSecret::new(SECRET), &claims).unwrap();
        http.post(format!("{}/hooks/hipchat", stack.base))
            .header("authorization", format!("JWT {jwt}"))
            .json(&body)
            .send()
    };
    for (room, client, signed_room, expected) in [
        (
            2,
            "hipkit-emulator",
            1,
            "issued for room 1, not for the body's room 2",
        ),
        (
            1,
            "someone-else",
            1,
            "`oauth_client_id` is not the JWT's issuer",
        ),
        (
            3,
            "hipkit-emulator",
            3,
            "room 3 takes webhooks from another issuer",
        ),
    ] {
        let resp = post(room, client, signed_room).await.unwrap();
        assert_eq!(resp.status(), 401, "room {room}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("room-two-token"), "{text}");
    }
    assert!(!ran.exists(), "a refused webhook ran the integration");
    let resp = post(1, "hipkit-emulator", 1).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "room-one-token\n");
    stack.stop().await;
}
