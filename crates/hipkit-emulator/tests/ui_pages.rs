//! The web UI over HTTP (no browser): HipChat-faithful rendering, the render check, unread
//! counts, search, clearing and deleting, the forms' same-origin rule, the token page, the
//! SSE stream, the wait endpoint and the retention cap.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod ui_common;

use hipkit_emulator::{EmulatorConfig, EmulatorEvent, RunningEmulator};
use hipkit_testkit::TOKEN;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use ui_common::emulator;

async fn page(emu: &RunningEmulator, path: &str) -> (StatusCode, String) {
    let resp = reqwest::get(format!("{}{path}", emu.base_url))
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Posts a form as the UI's own pages do (same origin).
async fn form(emu: &RunningEmulator, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", emu.base_url))
        .header("origin", &emu.base_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish(),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_room_page_renders_html_cards_mentions_and_the_render_check() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    emu.api().notify(
        "Ops",
        json!({"message": "<b>bold</b><script>alert(1)</script><img src=x onerror=\"alert(2)\"> hi @bob",
               "color": "red", "notify": true, "from": "CI"}),
    )
    .await;
    emu.api().notify(
        "Ops",
        json!({"message": "Build #42", "color": "green", "card": {
            "style": "application", "title": "Build #42 passed", "url": "https://ci.example/42",
            "description": {"value": "<i>all</i> green", "format": "html"},
            "attributes": [{"label": "branch", "value": {"label": "main", "style": "lozenge-success"}}]}}),
    )
    .await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "see https://example.com/x and @bob <u>", "message_format": "text"}),
        )
        .await;
    let (status, html) = page(&emu, "/rooms/1").await;
    assert_eq!(status, 200);
    assert!(html.contains("<b>bold</b>"), "{html}");
    assert!(
        !html.contains("<script>alert"),
        "scripts never reach the page"
    );
    assert!(
        !html.contains("onerror=\""),
        "handlers never reach the page"
    );
    assert!(html.contains("c-red") && html.contains("title=\"notify: true\">notify<"));
    assert!(
        html.contains("HipChat strips &lt;script&gt;"),
        "render check"
    );
    assert!(
        html.contains("onerror on &lt;img&gt;"),
        "render check names the attribute"
    );
    assert!(html.contains("HipChat does not expand mentions in html format"));
    assert!(html.contains(">Build #42 passed</a>") && html.contains("lozenge-success"));
    assert!(html.contains("<i>all</i> green"));
    assert!(html.contains("<span class=\"mention\">@bob</span>"));
    assert!(html.contains("<a href=\"https://example.com/x\""));
    assert!(html.contains("&lt;u&gt;"), "text messages are escaped");
    let (status, _) = page(&emu, "/rooms/99").await;
    assert_eq!(status, 404);
    let (status, _) = page(&emu, "/rooms/Build%20Room").await;
    assert_eq!(status, 200, "rooms open by name too");
}

#[tokio::test]
async fn the_room_list_counts_unread_messages_until_the_room_is_opened() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    for n in 0..3 {
        emu.api()
            .notify("Ops", json!({"message": format!("note {n}")}))
            .await;
    }
    let (_, index) = page(&emu, "/").await;
    assert!(
        index.contains("aria-label=\"unread messages\">3</span>"),
        "{index}"
    );
    assert!(index.contains("note 2"), "latest message shown");
    page(&emu, "/rooms/1").await;
    let (_, index) = page(&emu, "/").await;
    assert!(index.contains("unread none"), "{index}");
}

#[tokio::test]
async fn search_combines_filters_and_words_across_rooms() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    emu.api()
        .notify(
            "Ops",
            json!({"message": "deploy api failed", "color": "red", "from": "CD"}),
        )
        .await;
    emu.api()
        .notify(
            "Build Room",
            json!({"message": "deploy web passed", "color": "green", "from": "CI"}),
        )
        .await;
    let search = |q: &'static str| {
        let emu = &emu;
        async move {
            let url = format!("/search?q={}", urlencode(q));
            page(emu, &url).await.1
        }
    };
    let both = search("deploy").await;
    assert!(both.contains("deploy api failed") && both.contains("deploy web passed"));
    let red = search("deploy color:red").await;
    assert!(red.contains("deploy api failed") && !red.contains("deploy web passed"));
    let room = search("room:\"Build Room\" from:ci").await;
    assert!(room.contains("deploy web passed") && !room.contains("deploy api failed"));
    assert!(search("has:card").await.contains("0 results"));
    assert!(search("color:magenta").await.contains("magenta"));
}

#[tokio::test]
async fn a_search_too_big_to_be_typed_is_a_400() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let many_words = vec!["w"; 2000].join(" ");
    let long_word = "x".repeat(5000);
    for q in [many_words, long_word] {
        let url = format!("{}/search?q={}", emu.base_url, urlencode(&q));
        let resp = reqwest::get(url).await.unwrap();
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        hipkit_testkit::assert_envelope(&body, 400, "at most");
    }
    let (status, _) = page(&emu, "/search?q=deploy").await;
    assert_eq!(status, 200);
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn clearing_a_room_and_deleting_a_message_publish_events_and_refuse_other_sites() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let mut rx = emu.subscribe();
    for n in 0..3 {
        emu.api()
            .notify("Ops", json!({"message": format!("m{n}")}))
            .await;
    }
    let first = emu.api().history("Ops").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cross_site = reqwest::Client::new()
        .post(format!("{}/rooms/1/clear", emu.base_url))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(emu.api().history("Ops").await.len(), 3);

    let resp = form(&emu, &format!("/rooms/1/messages/{first}/delete"), &[]).await;
    assert_eq!(resp.status(), 303);
    let left = emu.api().history("Ops").await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|m| m["id"] != first.as_str()));
    let again = form(&emu, &format!("/rooms/1/messages/{first}/delete"), &[]).await;
    assert_eq!(again.status(), 404);

    assert_eq!(form(&emu, "/rooms/1/clear", &[]).await.status(), 303);
    assert!(emu.api().history("Ops").await.is_empty());
    let mut seen = Vec::new();
    while let Ok(e) = rx.try_recv() {
        seen.push(e);
    }
    assert!(seen.iter().any(
        |e| matches!(e, EmulatorEvent::MessageDeleted { message_id, .. } if *message_id == first)
    ));
    assert!(
        seen.iter()
            .any(|e| matches!(e, EmulatorEvent::RoomCleared { removed: 2, .. }))
    );
}

#[tokio::test]
async fn a_form_without_origin_or_from_another_site_is_refused() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let fault = "action=drop&path=%2Fv2%2Froom";
    let post = || {
        reqwest::Client::new()
            .post(format!("{}/faults", emu.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(fault)
    };
    let no_origin = post().send().await.unwrap();
    assert_eq!(no_origin.status(), 403);
    let body: Value = no_origin.json().await.unwrap();
    hipkit_testkit::assert_envelope(&body, 403, "own pages");
    let cross_site = post()
        .header("origin", &emu.base_url)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let rules = emu.api().get("/_emulator/faults").await;
    assert_eq!(rules.as_array().map(Vec::len), Some(0), "{rules}");
}

#[tokio::test]
async fn the_token_page_shows_labels_and_a_new_token_only_once() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let (_, tokens) = page(&emu, "/tokens").await;
    assert!(tokens.contains("token-1"));
    assert!(!tokens.contains(TOKEN), "a configured token never appears");
    let created = form(
        &emu,
        "/tokens",
        &[("label", "robot"), ("scope", "send_notification")],
    )
    .await;
    assert_eq!(created.status(), 200);
    let created = created.text().await.unwrap();
    let start = created.find("id=\"new-token\">").unwrap() + "id=\"new-token\">".len();
    let token = &created[start..start + 40];
    let (_, later) = page(&emu, "/tokens").await;
    assert!(later.contains("robot") && !later.contains(token));
    let robot = json!({"message": "from the robot"});
    let sent = emu
        .api()
        .with_token(token)
        .post("/v2/room/Ops/notification", &robot)
        .await;
    assert_eq!(sent, 204, "the new token works with its scope");
    let duplicate = form(
        &emu,
        "/tokens",
        &[("label", "robot"), ("scope", "view_room")],
    )
    .await;
    assert_eq!(duplicate.status(), 400);
    let no_scope = form(&emu, "/tokens", &[("label", "x")]).await;
    assert_eq!(no_scope.status(), 400);
}

#[tokio::test]
async fn admin_pages_render_and_their_forms_change_the_world() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    emu.api().notify("Ops", json!({"message": "counted"})).await;
    for path in ["/webhooks", "/rates", "/faults", "/requests", "/search"] {
        let (status, body) = page(&emu, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, rates) = page(&emu, "/rates").await;
    assert!(rates.contains("room:1 (Ops)") && rates.contains("token-1"));
    let (_, log) = page(&emu, "/requests").await;
    // minijinja escapes `/` as `&#x2f;`.
    assert!(
        log.contains("Ops&#x2f;notification") && !log.contains(TOKEN),
        "{log}"
    );

    let hook = [
        ("room", "1"),
        ("event", "room_message"),
        ("pattern", "^/hello"),
        ("url", "http://127.0.0.1:9/hook"),
        ("name", "hello"),
    ];
    assert_eq!(form(&emu, "/webhooks", &hook).await.status(), 303);
    let (_, hooks) = page(&emu, "/webhooks").await;
    assert!(
        hooks.contains("^&#x2f;hello") && hooks.contains("127.0.0.1:9&#x2f;hook"),
        "{hooks}"
    );
    let bad = form(
        &emu,
        "/webhooks",
        &[("room", "1"), ("event", "room_message"), ("url", "ftp://x")],
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(form(&emu, "/webhooks/1/1/delete", &[]).await.status(), 303);

    let fault = [
        ("path", "/v2/room/"),
        ("action", "status"),
        ("status", "503"),
        ("times", "1"),
    ];
    assert_eq!(form(&emu, "/faults", &fault).await.status(), 303);
    let (_, faults) = page(&emu, "/faults").await;
    assert!(faults.contains("503"));
    let refused = emu
        .api()
        .post("/v2/room/Ops/notification", &json!({"message": "x"}))
        .await;
    assert_eq!(refused, 503, "the rule added in the page applies");
    let bad = form(&emu, "/faults", &[("action", "status"), ("status", "99")]).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(form(&emu, "/faults/clear", &[]).await.status(), 303);
}

/// Reads the SSE body until `needle` appears (or fails after a generous deadline).
async fn read_until(resp: &mut reqwest::Response, seen: &mut String, needle: &str) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains(needle) {
            let chunk = resp.chunk().await.unwrap().expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(found.is_ok(), "`{needle}` never arrived; got: {seen}");
}

#[tokio::test]
async fn the_event_stream_says_hello_then_sends_rendered_messages_of_its_room() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let mut stream = reqwest::get(format!("{}/ui/events?room=1", emu.base_url))
        .await
        .unwrap();
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event: hello").await;
    emu.api()
        .notify("Build Room", json!({"message": "other room"}))
        .await;
    emu.api()
        .notify("Ops", json!({"message": "<b>live</b>", "color": "purple"}))
        .await;
    read_until(&mut stream, &mut seen, "event: message").await;
    read_until(&mut stream, &mut seen, "live").await;
    assert!(
        seen.contains("c-purple") && seen.contains("<b>live</b>"),
        "{seen}"
    );
    assert!(!seen.contains("other room"), "only the page's room");
    emu.shutdown().await;
}

#[tokio::test]
async fn wait_answers_a_stored_or_arriving_match_and_408_after_the_wait() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let http = reqwest::Client::new();
    let get = |query: &str| {
        http.get(format!(
            "{}/_emulator/rooms/Ops/messages?{query}",
            emu.base_url
        ))
        .bearer_auth(TOKEN)
        .send()
    };
    emu.api()
        .notify("Ops", json!({"message": "build 1 passed"}))
        .await;
    let stored: Value = get("wait=5s&match=passed")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["items"][0]["message"], "build 1 passed");
    let combined = get("wait=1m30s&match=passed").await.unwrap();
    assert_eq!(combined.status(), 200, "hipkit's duration syntax");

    let since = stored["items"][0]["id"].as_str().unwrap().to_owned();
    let waiting = get(&format!("wait=30s&match=deployed&since={since}"));
    let (answer, ()) = tokio::join!(waiting, async {
        emu.api()
            .notify("Ops", json!({"message": "not this one"}))
            .await;
        emu.api()
            .notify("Ops", json!({"message": "api deployed"}))
            .await;
    });
    let arrived: Value = answer.unwrap().json().await.unwrap();
    assert_eq!(arrived["items"].as_array().unwrap().len(), 1);
    assert_eq!(arrived["items"][0]["message"], "api deployed");

    let late = get("wait=200ms&match=never").await.unwrap();
    assert_eq!(late.status(), 408);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["error"]["code"], 408);
    let now: Value = get("match=never").await.unwrap().json().await.unwrap();
    assert_eq!(now["items"], json!([]), "no wait: answered at once");
    assert_eq!(get("wait=soon").await.unwrap().status(), 400);
    assert_eq!(get("since=nope").await.unwrap().status(), 400);
    let anonymous = reqwest::get(format!("{}/_emulator/rooms/Ops/messages", emu.base_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn history_keeps_only_the_newest_messages_up_to_the_retention() {
    let emu = emulator(EmulatorConfig {
        retention: 5,
        ..EmulatorConfig::ephemeral()
    })
    .await;
    for n in 0..8 {
        emu.api()
            .notify("Ops", json!({"message": format!("n{n}")}))
            .await;
    }
    let kept: Vec<String> = emu
        .api()
        .history("Ops")
        .await
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept, ["n3", "n4", "n5", "n6", "n7"]);
    let stats = emu.api().get("/v2/room/Ops/statistics").await;
    assert_eq!(
        stats["messages_sent"], 8,
        "dropped messages still count as sent"
    );
    assert_eq!(EmulatorConfig::default().retention, 1000);
    let zero = hipkit_emulator::start(EmulatorConfig {
        retention: 0,
        ..EmulatorConfig::ephemeral()
    })
    .await;
    assert!(zero.err().unwrap().to_string().contains("retention"));
}

#[tokio::test]
async fn the_room_fragment_sends_what_follows_a_message_or_everything_to_replace() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    for n in 0..3 {
        emu.api()
            .notify("Ops", json!({"message": format!("f{n}")}))
            .await;
    }
    let first = emu.api().history("Ops").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let after = reqwest::get(format!("{}/rooms/1/fragment?after={first}", emu.base_url))
        .await
        .unwrap();
    assert_eq!(after.headers()["x-reset"], "0");
    let html = after.text().await.unwrap();
    assert!(
        !html.contains(">f0<") && html.contains(">f1<") && html.contains(">f2<"),
        "{html}"
    );
    let gone = reqwest::get(format!("{}/rooms/1/fragment?after=gone", emu.base_url))
        .await
        .unwrap();
    assert_eq!(gone.headers()["x-reset"], "1");
    assert!(gone.text().await.unwrap().contains(">f0<"));
}

#[tokio::test]
async fn private_chats_are_listed_and_open_as_a_page() {
    let emu = emulator(EmulatorConfig::ephemeral()).await;
    let psst = json!({"message": "psst <b>bob</b>"});
    assert_eq!(emu.api().post("/v2/user/@bob/message", &psst).await, 204);
    let (_, index) = page(&emu, "/").await;
    assert!(index.contains("href=\"/chats/1/2\""), "{index}");
    assert!(index.contains("HipKit Admin ↔ bob"));
    let (status, chat) = page(&emu, "/chats/1/2").await;
    assert_eq!(status, 200);
    assert!(
        chat.contains("psst &lt;b&gt;bob&lt;/b&gt;"),
        "text format is escaped: {chat}"
    );
    assert!(
        !chat.contains("/delete"),
        "chat messages have no room to delete from"
    );
    let (status, _) = page(&emu, "/chats/1/99").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_ui_password_is_asked_for_and_beyond_loopback_the_ui_needs_one() {
    let emu = emulator(EmulatorConfig {
        ui_password: Some(hipchat::Token::new("ui-s3cret")),
        ..EmulatorConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let asked = client
        .get(format!("{}/", emu.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::UNAUTHORIZED);
    assert!(
        asked.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = client
        .get(format!("{}/tokens", emu.base_url))
        .basic_auth("me", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(!wrong.text().await.unwrap().contains("ui-s3cret"));
    let right = client
        .get(format!("{}/tokens", emu.base_url))
        .basic_auth("anyone", Some("ui-s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    // The API keeps its own tokens.
    emu.api()
        .notify("Ops", json!({"message": "still served"}))
        .await;
    emu.shutdown().await;

    let exposed = hipkit_emulator::start(EmulatorConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let port = exposed.local_addr.port();
    let (status, body) = {
        let resp = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("ui_password"), "{body}");
    exposed.shutdown().await;
}
