//! What the web UI's test files share: an emulator with the rooms Ops and Build Room, and
//! authenticated JSON requests.
// Each test file uses a part of this module.
#![allow(dead_code)]

use hipkit_emulator::{EmulatorConfig, RunningEmulator, TokenSpec};
use serde_json::Value;

/// The all-scopes token of [`emulator`].
pub const TOKEN: &str = "ui-test-token-0123456789";

/// An emulator with the rooms Ops (id 1) and Build Room (id 2) and the user bob.
pub async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    hipkit_emulator::start(EmulatorConfig {
        tokens: vec![TokenSpec::all_scopes(TOKEN)],
        rooms: vec!["Ops".into(), "Build Room".into()],
        users: vec!["bob@example.com".into()],
        ..config
    })
    .await
    .unwrap()
}

/// POSTs `body` to `path` with [`TOKEN`]; returns the status.
pub async fn post(emu: &RunningEmulator, path: &str, body: &Value) -> u16 {
    post_as(emu, TOKEN, path, body).await
}

/// POSTs `body` to `path` with `token`; returns the status.
pub async fn post_as(emu: &RunningEmulator, token: &str, path: &str, body: &Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{}{path}", emu.base_url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Posts a notification to `room` (a name or id) and expects 204.
pub async fn notify(emu: &RunningEmulator, room: &str, body: Value) {
    let path = format!("/v2/room/{room}/notification");
    assert_eq!(post(emu, &path, &body).await, 204);
}

/// GETs `path` with [`TOKEN`] as JSON.
pub async fn get(emu: &RunningEmulator, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", emu.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
