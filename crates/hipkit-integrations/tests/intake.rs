//! Webhook intake over loopback: bad bodies get precise errors, routing refuses what is not
//! an integration of the folder, the seed's admin text commands are answered with the new way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod common;

use common::*;
use hipkit_integrations::IntegrationsConfig;
use hipkit_testkit::assert_envelope;
use serde_json::json;

async fn stack_with_echo() -> (
    Stack,
    tempfile::TempDir,
    tempfile::TempDir,
    hipkit_testkit::Emulator,
) {
    let emu = emulator().await;
    let (dir, db, data) = folders();
    write(
        dir.path(),
        "echo.py",
        "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
         log.info('query: ' + query + '\\nforged line')\n    \
         return query + ' from ' + notification.item.message.sender.name\n",
        0o644,
    );
    let stack = Stack::start(dir.path(), &db, &emu, IntegrationsConfig::default()).await;
    (stack, dir, data, emu)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_precise_errors() {
    let (stack, _dir, _data, _emu) = stack_with_echo().await;
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{nope".to_vec(), 400, "not JSON"),
        (b"{\"event\": \"\xff\"}".to_vec(), 400, "not UTF-8"),
        (b"[]".to_vec(), 400, "JSON object"),
        (
            serde_json::to_vec(&json!({"event": "room_enter", "item": {}})).unwrap(),
            400,
            "room_enter",
        ),
        (
            serde_json::to_vec(&json!({"event": "room_message", "item": {"room": {"id": 1}}}))
                .unwrap(),
            400,
            "item.message",
        ),
        (vec![b' '; 100 * 1024], 413, "bytes"),
        (
            br#"{"event": "room_message", "event": "room_message"}"#.to_vec(),
            400,
            "duplicate field `event`",
        ),
    ];
    for (body, status, text) in cases {
        let (got, reply) = stack.post_raw("/hooks/hipchat", body).await;
        assert_eq!(got, status, "{reply}");
        assert_envelope(&reply, status, text);
    }
    // Still serving, with lenient payloads: `from` as a label, string webhook id, no oauth id.
    let mut hook = webhook(1, "/echo 50% of\nline two");
    hook["item"]["message"]["from"] = json!("CI bot");
    hook["webhook_id"] = json!("abc");
    hook.as_object_mut().unwrap().remove("oauth_client_id");
    hook["extra"] = json!({"new": "field"});
    let (status, reply) = stack
        .post_raw("/", serde_json::to_vec(&hook).unwrap())
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["message"], "50% of\nline two from CI bot");
    assert_eq!(reply["message_format"], "text");
    // A pretty-printed body (line breaks and tabs between tokens) reaches the host intact.
    let pretty = serde_json::to_string_pretty(&hook)
        .unwrap()
        .replace("  ", "\t");
    let (status, reply) = stack.post_raw("/", pretty.into_bytes()).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["message"], "50% of\nline two from CI bot");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_refuses_what_is_not_an_integration() {
    let (stack, dir, _data, _emu) = stack_with_echo().await;
    // A script outside the folder that a traversal would have run.
    let marker = dir
        .path()
        .parent()
        .unwrap()
        .join(format!("hipkit-evil-{}", std::process::id()));
    let evil = dir.path().parent().unwrap().join("evil.py");
    std::fs::write(
        &evil,
        format!(
            "def run_integration(**kw):\n    open({:?}, 'w').write('ran')\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    for (message, expected) in [
        ("/../evil x", "is not an integration name"),
        ("/nope x", "No integration /nope. Available: /echo"),
        ("hello there", "Not a slash command"),
        ("/ping", "pong"),
        ("see https://example.com/echo b", "Not a slash command"),
    ] {
        let text = stack.reply_text(1, message).await;
        assert!(text.contains(expected), "{message}: {text}");
    }
    assert!(!marker.exists());
    let _ = std::fs::remove_file(evil);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_admin_text_commands_explain_the_new_way() {
    let (stack, _dir, _data, _emu) = stack_with_echo().await;
    for (body, expected) in [
        ("save /etc/passwd", "GET /admin/storage/"),
        ("load /etc/passwd", "PUT /admin/storage/"),
        ("erase", "DELETE /admin/storage/"),
    ] {
        let (status, reply) = stack.post_raw("/", body.as_bytes().to_vec()).await;
        assert_eq!(status, 410, "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
    stack.stop().await;
}
