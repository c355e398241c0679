//! `serve`'s built-in emulator answers HipChat's API v1 as `hipkit emulator` does: a
//! djhipchat2-style form post lands in the room.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{Api, BlockingApi, hipkit_bin};
use reqwest::Method;
use serde_json::json;

#[test]
fn serves_builtin_emulator_answers_v1_rooms_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let server = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
        ],
        "emulator token",
    );
    let emulator = server
        .lines
        .iter()
        .find(|l| l.contains("built-in emulator"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .expect("emulator URL printed")
        .to_owned();
    let token = server
        .lines
        .last()
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_owned();
    let api = BlockingApi::anonymous(&emulator);
    // Url's query serializer is the form encoding (spaces as `+`).
    let mut encoder = reqwest::Url::parse("http://form.invalid/").unwrap();
    encoder.query_pairs_mut().extend_pairs([
        ("room_id", "Build Room"),
        ("from", "Django"),
        ("message", "deployed"),
        ("notify", "0"),
        ("color", "green"),
        ("format", "json"),
        ("auth_token", token.as_str()),
    ]);
    let form = encoder.query().unwrap().to_owned();
    let req = api
        .request(Method::POST, "/v1/rooms/message")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    let (status, _, body) = api.send(req);
    assert_eq!((status, body), (200, json!({"status": "sent"})));
    let page = BlockingApi::new(Api::new(&emulator, &token)).get("/v2/room/1/history");
    assert_eq!(page["items"][0]["message"], "deployed", "{page}");
    assert_eq!(page["items"][0]["from"], "Django", "{page}");
}
