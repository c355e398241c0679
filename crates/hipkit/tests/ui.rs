//! The emulator's web UI under `hipkit serve`, in headless Chromium: a slash command typed
//! in a room's composer fires the webhook registered on the built-in emulator, `serve` runs
//! the Python integration (JWT-checked), and its reply appears in the open page.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_browser::Browser;
use hipkit_browser::fantoccini::key::Key;
use hipkit_testkit::{Api, Proc, TOKEN, hipkit_bin};
use serde_json::json;

const SECRET: &str = "ui-webhook-secret";

/// The built-in emulator's URL from serve's banner.
fn emulator_url(serve: &Proc) -> String {
    serve
        .lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("HipChat:   built-in emulator at "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("serve names its built-in emulator")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slash_command_typed_in_the_composer_gets_the_integrations_reply() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.py"),
        "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
         log.info('greeting %s' % query)\n    \
         return {'message': 'Hello, %s!' % query, 'color': 'purple'}\n",
    )
    .unwrap();
    let db = dir.path().join("serve.db");
    let serve = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0", "--emulator"],
        &[
            ("HIPKIT_STORE", db.to_str().unwrap()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
            ("HIPKIT_INTEGRATIONS__PATH", dir.path().to_str().unwrap()),
            // One secret: serve's emulator signs with it, the integrations check it.
            ("HIPKIT_INTEGRATIONS__JWT_SECRET", SECRET),
        ],
        "HipChat:",
    );
    let emulator = emulator_url(&serve);
    let hook = json!({"url": format!("{}/hooks/hipchat", serve.base), "event": "room_message",
                      "pattern": "^/hello", "name": "hello", "authentication": "jwt"});
    let registered = Api::new(&emulator, TOKEN)
        .post("/v2/room/Build%20Room/webhook", &hook)
        .await;
    assert_eq!(registered, 201);

    let browser = Browser::start().await.unwrap_or_else(|e| panic!("{e}"));
    browser
        .client
        .goto(&format!("{emulator}/rooms/1"))
        .await
        .unwrap();
    browser
        .xpath("//span[@id='live-status'][text()='live']")
        .await;
    let composer = browser.element("#composer-text").await;
    composer.send_keys("/hello composer").await.unwrap();
    composer
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let reply = browser
        .xpath("//li[contains(@class,'k-notification')][contains(., 'Hello, composer!')]")
        .await;
    let text = reply.text().await.unwrap();
    assert!(
        text.contains("hello"),
        "the reply comes from the integration: {text}"
    );
    let class = reply.attr("class").await.unwrap().unwrap_or_default();
    assert!(class.contains("c-purple"), "{class}");
    browser.screenshot("serve-composer.png").await;
    browser.close().await;
}
