//! The web UI in headless Chromium (Debian's `chromium` + `chromium-driver`, started by
//! `hipkit-browser` on a loopback port): a notification appears live in the open room page
//! with its colour and without a reload; `<b>` renders while `<script>` and `onerror` stay
//! inert; a card renders; the composer posts by keyboard; the token page never shows a full
//! token; the pages work at 375 px. Screenshots go to `target/ui-artifacts/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_browser::Browser;
use hipkit_browser::fantoccini::Locator;
use hipkit_browser::fantoccini::key::Key;
mod ui_common;

use hipkit_emulator::{EmulatorConfig, RunningEmulator};
use hipkit_testkit::{Emulator, TOKEN};
use serde_json::{Value, json};

async fn emulator() -> Emulator {
    ui_common::emulator(EmulatorConfig::ephemeral()).await
}

async fn browser() -> Browser {
    match Browser::start().await {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

/// Opens `path` of the emulator in the browser.
async fn open(b: &Browser, emu: &RunningEmulator, path: &str) {
    b.client
        .goto(&format!("{}{path}", emu.base_url))
        .await
        .unwrap();
}

/// Registers a webhook on Ops.
async fn register(emu: &Emulator, hook: Value) {
    assert_eq!(emu.api().post("/v2/room/Ops/webhook", &hook).await, 201);
}

/// Waits until the page's live stream is connected (its status says `live`).
async fn live(b: &Browser) {
    b.xpath("//span[@id='live-status'][text()='live']").await;
}

#[tokio::test]
async fn a_notification_appears_live_in_the_open_room_with_its_colour_and_no_reload() {
    let emu = emulator().await;
    let b = browser().await;
    open(&b, &emu, "/").await;
    live(&b).await;
    // A new room appears live in the room list.
    let created = emu.api().post("/v2/room", &json!({"name": "Fresh"})).await;
    assert_eq!(created, 201);
    b.xpath("//li[@class='room-row']/a[text()='Fresh']").await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "first, seen on the room list", "color": "yellow"}),
        )
        .await;
    b.xpath("//li[@data-room='1']//span[contains(@class,'unread')][text()='1']")
        .await;
    b.element("a.room-link").await.click().await.unwrap();
    live(&b).await;
    b.script("window.__sameDocument = true; return null;").await;
    emu.api().notify(
        "Ops", json!({"message": "Build <b>#42</b> passed", "color": "green", "notify": true, "from": "CI"}),
    )
    .await;
    let msg = b
        .xpath("//li[contains(@class,'c-green')][contains(., 'passed')]")
        .await;
    let bar = msg.css_value("border-left-color").await.unwrap();
    assert!(bar.contains("20, 137, 44"), "green colour bar, got {bar}");
    assert!(msg.text().await.unwrap().contains("notify"));
    assert_eq!(
        b.script("return window.__sameDocument === true;").await,
        Value::Bool(true),
        "the page was not reloaded"
    );
    for n in 0..3 {
        emu.api()
            .notify(
                "Ops",
                json!({"message": format!("more {n}"), "color": "purple"}),
            )
            .await;
    }
    b.xpath("//li[contains(@class,'c-purple')][contains(., 'more 2')]")
        .await;
    // A representative room for the screenshot (the README shows it).
    emu.api().notify(
        "Ops", json!({"message": "Deploy api to staging", "color": "purple", "from": "Deploy bot",
            "card": {"style": "application", "format": "medium", "title": "api #318 deployed to staging",
            "url": "https://ci.example/318", "description": {"value": "commit <b>4f0c2e1</b> by alice", "format": "html"},
            "attributes": [{"label": "env", "value": {"label": "staging", "style": "lozenge-current"}},
                           {"label": "checks", "value": {"label": "passed", "style": "lozenge-success"}}]}}),
    )
    .await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "@bob the nightly is red again, log: https://ci.example/nightly/77",
            "message_format": "text", "color": "red", "notify": true, "from": "Nightly"}),
        )
        .await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "<p>Coverage <b>81%</b></p><script>track()</script>", "color": "gray",
            "from": "Coverage"}),
        )
        .await;
    b.xpath("//li[contains(@class,'c-gray')][contains(., 'Coverage')]")
        .await;
    b.client.set_window_size(1100, 1250).await.unwrap();
    b.screenshot("room.png").await;
    b.close().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn bold_renders_while_script_and_onerror_stay_inert_and_cards_render() {
    let emu = emulator().await;
    let hostile = "<b>bold</b><script>window.__pwned = 'script'</script>\
        <img src=\"/nope.png\" onerror=\"window.__pwned = 'onerror'\">";
    emu.api()
        .notify("Ops", json!({"message": hostile, "color": "red"}))
        .await;
    let b = browser().await;
    open(&b, &emu, "/rooms/1").await;
    live(&b).await;
    // The same message again, inserted live rather than with the page.
    emu.api()
        .notify("Ops", json!({"message": hostile, "color": "gray"}))
        .await;
    emu.api().notify(
        "Ops", json!({"message": "Build 7", "card": {"style": "application", "format": "medium",
            "title": "Build 7 passed", "url": "https://ci.example/7",
            "description": {"value": "on <b>main</b>", "format": "html"},
            "attributes": [{"label": "state", "value": {"label": "passed", "style": "lozenge-success"}}]}}),
    )
    .await;
    let card = b.element(".card .card-title a").await;
    assert_eq!(card.text().await.unwrap(), "Build 7 passed");
    let lozenge = b.element(".card .lozenge-success").await;
    assert_eq!(lozenge.text().await.unwrap().to_lowercase(), "passed");
    b.element("li.c-gray .body b").await;
    let bolds = b
        .client
        .find_all(Locator::Css("li.msg .body b"))
        .await
        .unwrap();
    assert!(bolds.len() >= 2);
    for bold in bolds {
        let weight: u32 = bold
            .css_value("font-weight")
            .await
            .unwrap()
            .parse()
            .unwrap();
        assert!(weight >= 700, "<b> is bold");
    }
    // Any handler would have run once every image has loaded or failed: wait for that.
    b.until("return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete);",
    )
    .await;
    assert_eq!(
        b.script("return window.__pwned || 'inert';").await,
        Value::String("inert".into())
    );
    assert_eq!(
        b.script("return document.querySelectorAll('li.msg script, li.msg [onerror]').length;")
            .await,
        json!(0)
    );
    b.element("li.c-red details.checks").await;
    b.close().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn the_composer_posts_by_keyboard_and_the_page_fits_375_px() {
    let emu = emulator().await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "a long line ".repeat(40), "color": "yellow"}),
        )
        .await;
    let b = browser().await;
    b.client.set_window_size(375, 812).await.unwrap();
    open(&b, &emu, "/rooms/1").await;
    live(&b).await;
    let text = b.element("#composer-text").await;
    text.send_keys("hello from the composer").await.unwrap();
    text.send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let posted = b
        .xpath("//li[contains(@class,'k-message')][contains(., 'hello from the composer')]")
        .await;
    assert!(posted.text().await.unwrap().contains("HipKit Admin"));
    assert_eq!(
        b.element("#composer-text")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(""),
        "the composer is emptied for the next message"
    );
    let overflow = b
        .script("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(
        overflow,
        Value::Bool(true),
        "no horizontal scrolling at 375 px"
    );
    b.screenshot("room-375.png").await;
    b.close().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn the_token_page_never_shows_a_full_token_and_webhooks_are_listed() {
    let emu = emulator().await;
    let hook = json!({"url": "http://127.0.0.1:9/hello", "event": "room_message",
        "pattern": "^/hello", "name": "hello"});
    register(&emu, hook).await;
    let b = browser().await;
    open(&b, &emu, "/tokens").await;
    let source = b.client.source().await.unwrap();
    assert!(source.contains("token-1") && !source.contains(TOKEN));
    b.element("#token-label")
        .await
        .send_keys("robot")
        .await
        .unwrap();
    b.element("form.stack button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let created = b.element("#new-token").await.text().await.unwrap();
    assert_eq!(
        created.len(),
        40,
        "shown once, in full, right after creation"
    );
    open(&b, &emu, "/tokens").await;
    let later = b.client.source().await.unwrap();
    assert!(later.contains("robot") && !later.contains(&created) && !later.contains(TOKEN));
    open(&b, &emu, "/webhooks").await;
    b.xpath("//td[contains(., 'hello')]").await;
    b.close().await;
    emu.shutdown().await;
}

/// A slash-command integration in miniature: answers `/hello` with a notification.
async fn hello_integration() -> String {
    let app = axum::Router::new().route(
        "/hello",
        axum::routing::post(|axum::Json(payload): axum::Json<Value>| async move {
            let name = payload["item"]["message"]["from"]["name"]
                .as_str()
                .unwrap_or("?")
                .to_owned();
            axum::Json(
                json!({"message": format!("Hello, {name}!"), "color": "green",
                "message_format": "text"}),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hello", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_slash_command_typed_in_the_composer_gets_the_integrations_reply() {
    let emu = emulator().await;
    let hook = json!({"url": hello_integration().await, "event": "room_message",
        "pattern": "^/hello", "name": "hello"});
    register(&emu, hook).await;
    let b = browser().await;
    // A firing appears live on the webhooks page.
    open(&b, &emu, "/webhooks").await;
    live(&b).await;
    let command = json!({"message": "/hello api"});
    assert_eq!(emu.api().post("/v2/room/Ops/message", &command).await, 201);
    let row = b
        .element("#firings tr.o-replied")
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains("200") && row.contains("replied"), "{row}");

    open(&b, &emu, "/rooms/1").await;
    live(&b).await;
    let text = b.element("#composer-text").await;
    text.send_keys("/hello").await.unwrap();
    text.send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    b.xpath("//li[contains(@class,'k-message')][contains(., '/hello')]")
        .await;
    let reply = b
        .xpath("//li[contains(@class,'c-green')][contains(., 'Hello, HipKit Admin!')]")
        .await;
    assert!(reply.text().await.unwrap().contains("notification"));
    open(&b, &emu, "/webhooks").await;
    b.until("return document.querySelectorAll('#firings tr.o-replied').length === 2;")
        .await;
    b.screenshot("webhooks.png").await;
    b.close().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn the_room_page_reconnects_after_an_emulator_restart_and_can_poll_instead() {
    let emu = emulator().await;
    let addr = emu.local_addr;
    emu.api()
        .notify("Ops", json!({"message": "before the restart"}))
        .await;
    let b = browser().await;
    open(&b, &emu, "/rooms/1").await;
    live(&b).await;
    emu.shutdown().await;
    b.xpath("//span[@id='live-status'][text()='reconnecting…']")
        .await;
    let emu = ui_common::emulator(EmulatorConfig {
        listen: addr,
        ..EmulatorConfig::ephemeral()
    })
    .await;
    live(&b).await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "after the restart", "color": "green"}),
        )
        .await;
    b.xpath("//li[contains(@class,'c-green')][contains(., 'after the restart')]")
        .await;
    b.until("return !document.body.textContent.includes('before the restart');")
        .await;

    open(&b, &emu, "/rooms/1?live=poll").await;
    b.xpath("//span[@id='live-status'][starts-with(text(),'polling')]")
        .await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "seen by polling", "color": "purple"}),
        )
        .await;
    b.xpath("//li[contains(@class,'c-purple')][contains(., 'seen by polling')]")
        .await;
    b.close().await;
    emu.shutdown().await;
}
