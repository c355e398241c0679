//! `[log]` for hipkit's own binary: `hipkit serve` posts its warnings to the ops room named
//! by `HIPKIT_LOG__ROOM`, through real `hipkit emulator` and `hipkit serve` processes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{BlockingApi, TOKEN, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[test]
fn serve_posts_its_warnings_to_the_log_room() {
    let emu = hipkit_bin!().emulator(&["--room", "Build Room", "--room", "Ops"]);
    // HipChat refuses the first delivery with 429: the outbox warns that it is holding sends.
    let fault = json!({"method": "POST", "path": "/v2/room/Build%20Room/notification",
        "times": 1, "action": {"status": {"status": 429}}});
    emu.api().add_fault(&fault);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("outbox.db");
    let serve = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().expect("utf-8 path")),
            ("HIPKIT_LOG__ROOM", "Ops"),
            ("HIPKIT_LOG__SENDER", "hipkit serve"),
        ],
        "delivery:",
    );
    let body = json!({"room": "Build Room", "message": "deploy finished"});
    let (status, _, answer) =
        BlockingApi::anonymous(&serve.base).call(Method::POST, "/api/v1/messages", Some(body));
    assert!((200..300).contains(&status), "{status}: {answer}");

    let emulator = emu.api();
    let ops = || emulator.get("/v2/room/Ops/history/latest")["items"].clone();
    wait_until("the warning in Ops", Duration::from_secs(30), || {
        ops().as_array().is_some_and(|items| !items.is_empty())
    });
    let items = ops();
    let warning = &items[0];
    let text = warning["message"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("WARN hipkit_transport::outbox")
            && text.contains("rate limited; holding every send until the reset"),
        "{text}"
    );
    assert_eq!(warning["color"], "yellow");
    assert_eq!(warning["from"], "hipkit serve");
    assert!(!text.contains(TOKEN), "the token never shows");
    // Nothing but warnings went to Ops (the layer's own HTTP traffic is not posted).
    assert!(
        ops()
            .as_array()
            .into_iter()
            .flatten()
            .all(|i| i["message"].as_str().is_some_and(|m| m.starts_with("WARN"))),
        "{:#}",
        ops()
    );
}

#[test]
fn a_log_room_without_a_token_is_a_configuration_error() {
    let output = hipkit_bin!()
        .command(
            &["serve", "--listen", "127.0.0.1:0"],
            &[
                ("HIPCHAT_ENDPOINT", "http://127.0.0.1:9"),
                ("HIPKIT_LOG__ROOM", "Ops"),
            ],
        )
        .current_dir(tempfile::tempdir().expect("tempdir").path())
        .output()
        .expect("run hipkit");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[log] room is set, but"), "{stderr}");
}
