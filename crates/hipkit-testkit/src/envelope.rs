//! HipChat's error envelope: `{"error": {"code", "type", "message"}}`.

use serde_json::Value;

/// Asserts that `body` is an error envelope with `code`, a `type`, and a message containing
/// `message_part`.
pub fn assert_envelope(body: &Value, code: u16, message_part: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(message_part),
        "{msg:?} should contain {message_part:?}"
    );
    assert!(body["error"]["type"].is_string(), "{body}");
}
