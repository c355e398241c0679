//! Environment values are text where the field is text (issue 21 §2): a numeric-looking room
//! or token is not turned into a number, while number fields still read their digits.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_testkit::{Api, BlockingApi, TOKEN, hipkit_bin};
use reqwest::Method;
use serde_json::json;

#[test]
fn digit_only_env_values_stay_text_and_numbers_still_parse() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    // Before: `HIPKIT_LOG__ROOM=1234` was "invalid type: found unsigned int" and serve did not
    // start; `000123` became the token "123".
    let server = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", &emu.base),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_LOG__ROOM", "1234"),
            ("HIPKIT_SERVE__API_TOKEN", "000123"),
            ("HIPKIT_DELIVERY__CONCURRENCY", "3"),
            ("HIPKIT_SERVE__MAX_BODY_BYTES", "100000"),
        ],
        "delivery:",
    );
    let body = json!({"room": "Ops", "message": "zeros kept"});
    let call = |token: &str| {
        BlockingApi::new(Api::new(&server.base, token))
            .call(Method::POST, "/api/v1/messages", Some(body.clone()))
            .0
    };
    assert_eq!(call("123"), 401, "the zeros were dropped");
    assert_eq!(call("000123"), 202);
}

#[test]
fn digit_only_env_values_pass_check() {
    let out = hipkit_bin!().run(
        &["check"],
        &[
            ("HIPKIT_LOG__ROOM", "1234"),
            ("HIPKIT_HIPCHAT__DEFAULT_SENDER", "42"),
            ("HIPKIT_EMULATOR__ROOMS", "[\"a\", \"b\"]"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let config = stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("config"))
        .unwrap_or_else(|| panic!("no config line:\n{stdout}"));
    assert!(config.starts_with("ok"), "{stdout}");
}
