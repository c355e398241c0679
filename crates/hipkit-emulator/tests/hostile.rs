//! Hostile input (issue 12): names that cannot be addressed, arithmetic at the edges,
//! errors that must all be envelopes, fault rules that must say what they do, and shared
//! files that must not run in the emulator's origin.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_emulator::{EmulatorConfig, StartError};
use hipkit_testkit::{Api, Emulator, assert_envelope};
use reqwest::Method;
use serde_json::json;

const TOKEN: &str = "hostile-test-token";

async fn emulator() -> Emulator {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Wire"])
        .start()
        .await
}

#[tokio::test]
async fn rooms_that_a_path_cannot_name_are_refused() {
    let emu = emulator().await;
    for (name, part) in [
        (".", "dot segment"),
        ("..", "`..`"),
        ("42", "only digits"),
        ("", "`name`"),
    ] {
        let (status, _, body) = emu
            .api()
            .call(Method::POST, "/v2/room", Some(json!({"name": name})))
            .await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert_envelope(&body, 400, part);
    }
    // A slash is addressable: percent-encoded, it stays one path segment.
    let (status, _, _) = emu
        .api()
        .call(Method::POST, "/v2/room", Some(json!({"name": "a/b"})))
        .await;
    assert_eq!(status, 201);
    let (status, _, room) = emu.api().call(Method::GET, "/v2/room/a%2Fb", None).await;
    assert_eq!((status, room["name"].as_str()), (200, Some("a/b")));
    emu.shutdown().await;

    let seeded = hipkit_emulator::start(EmulatorConfig {
        rooms: vec!["..".into()],
        ..EmulatorConfig::ephemeral()
    })
    .await;
    assert!(matches!(seeded, Err(StartError::Seed(_))));
    let seeded = hipkit_emulator::start(EmulatorConfig {
        users: vec!["..".into()],
        ..EmulatorConfig::ephemeral()
    })
    .await;
    assert!(matches!(seeded, Err(StartError::Seed(_))));
}

#[tokio::test]
async fn a_forced_rate_limit_reset_far_in_the_future_keeps_holding() {
    let emu = emulator().await;
    let rule =
        json!({"path": "/v2/room", "action": {"status": {"status": 429, "reset_in": u64::MAX}}});
    emu.api().add_fault(&rule).await;
    for attempt in 0..3 {
        let (status, headers, body) = emu.api().call(Method::GET, "/v2/room", None).await;
        assert_eq!(status, 429, "attempt {attempt}: {body}");
        assert_envelope(&body, 429, "");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn history_paging_at_the_edges_never_links_back_to_the_start() {
    let emu = emulator().await;
    for n in 0..3 {
        let note = json!({"message": format!("note {n}")});
        let (status, _, _) = emu
            .api()
            .call(Method::POST, "/v2/room/Wire/notification", Some(note))
            .await;
        assert_eq!(status, 204);
    }
    let history = "/v2/room/Wire/history?date=2999-01-01T00:00:00Z";
    let (status, _, page) = emu
        .api()
        .call(
            Method::GET,
            &format!("{history}&start-index={}&max-results=1", usize::MAX),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([]));
    assert!(page["links"].get("next").is_none(), "{page}");
    let (status, _, page) = emu
        .api()
        .call(Method::GET, &format!("{history}&max-results=0"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page["links"].get("next").is_none(),
        "an empty page cannot link to itself as the next one: {page}"
    );
    let (status, _, body) = emu
        .api()
        .call(
            Method::GET,
            &format!("{history}&start-index=18446744073709551616"),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "start-index");
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_methods_bad_path_parameters_and_unknown_paths_get_envelopes() {
    let emu = emulator().await;
    for (method, path, allowed) in [
        (Method::POST, "/v2/capabilities", "GET"),
        (Method::DELETE, "/v2/room", "POST"),
        (Method::PATCH, "/v2/room/Wire/notification", "POST"),
        (Method::PUT, "/_emulator/faults", "DELETE"),
        (Method::GET, "/_emulator/reset", "POST"),
        (Method::POST, "/", "GET"),
    ] {
        let (status, headers, body) = emu.api().call(method.clone(), path, None).await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_envelope(&body, 405, "Method not allowed");
        let allow = headers
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow:?}");
    }
    for path in [
        "/v2/room/%ff%fe",
        "/v2/room/%ff%fe/statistics",
        "/v2/room/Wire/webhook/abc",
        "/v2/room/Wire/webhook/99999999999999999999999",
    ] {
        let (status, _, body) = emu.api().call(Method::GET, path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_envelope(&body, 400, "Invalid URL");
    }
    for path in [
        "/v2/nothing",
        "/_emulator/nothing",
        "/nothing/at/all",
        "/_emulator/files/nope/x.txt",
    ] {
        let (status, _, body) = emu.api().call(Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_envelope(&body, 404, "not found");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_rules_that_cannot_do_what_they_say_are_refused_by_name() {
    let emu = emulator().await;
    let status_rule = |status: u16| json!({"action": {"status": {"status": status}}});
    for (rule, part) in [
        (status_rule(99), "between 200 and 599"),
        (status_rule(101), "between 200 and 599"),
        (status_rule(199), "between 200 and 599"),
        (status_rule(600), "between 200 and 599"),
        (status_rule(1000), "between 200 and 599"),
        (json!({"times": 0, "action": "drop"}), "`times`"),
        (json!({"time": 3, "action": "drop"}), "`time`"),
        (
            json!({"action": {"status": {"status": 500, "mesage": "x"}}}),
            "`mesage`",
        ),
        (
            json!({"action": {"delay": {"delay_ms": 5, "jitter": 1}}}),
            "`jitter`",
        ),
    ] {
        let (status, _, body) = emu
            .api()
            .call(Method::POST, "/_emulator/faults", Some(rule.clone()))
            .await;
        assert_eq!(status, 400, "{rule}: {body}");
        assert_envelope(&body, 400, part);
    }
    let (_, _, rules) = emu.api().call(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(rules, json!([]), "nothing refused was stored");
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_with_statuses_that_carry_no_body_send_none() {
    let emu = emulator().await;
    for code in [204u16, 205, 304] {
        let rule = json!({"path": "/v2/room", "action": {"status": {"status": code}}});
        emu.api().add_fault(&rule).await;
        let req = emu.api().request(Method::GET, "/v2/room");
        let (status, headers, body) = Api::send_text(req).await;
        assert_eq!(status, code);
        let length = headers.get("content-length").cloned();
        assert!(
            length.is_none() || (code == 205 && length.as_ref().is_some_and(|l| l == "0")),
            "{code}: content-length {length:?}"
        );
        assert!(headers.get("content-type").is_none(), "{code}");
        assert_eq!(body.len(), 0);
    }
    let (status, _, _) = emu.api().call(Method::GET, "/v2/room", None).await;
    assert_eq!(
        status, 200,
        "the connection and the server are fine afterwards"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn shared_files_download_as_attachments_that_browsers_do_not_sniff() {
    let emu = emulator().await;
    let body = "--b0undary\r\nContent-Type: application/json\r\n\
         Content-Disposition: attachment; name=\"metadata\"\r\n\r\n{\"message\":\"look\"}\r\n\
         --b0undary\r\nContent-Type: text/html\r\n\
         Content-Disposition: attachment; name=\"file\"; filename=\"evil page.html\"\r\n\r\n\
         <script>alert(document.domain)</script>\r\n--b0undary--\r\n";
    let shared = reqwest::Client::new()
        .post(format!("{}/v2/room/Wire/share/file", emu.base_url))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/related; boundary=b0undary")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(shared.status(), 204);
    let (_, _, history) = emu
        .api()
        .call(Method::GET, "/v2/room/Wire/history", None)
        .await;
    let url = history["items"][0]["file"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = reqwest::get(&url).await.unwrap();
    assert_eq!(download.status(), 200);
    let header = |name: &str| {
        download
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename=\"evil page.html\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''evil%20page.html"),
        "{disposition}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("sandbox"));
    assert_eq!(
        download.text().await.unwrap(),
        "<script>alert(document.domain)</script>",
        "the content is unchanged"
    );
    emu.shutdown().await;
}
