#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Property tests of the binary's parsers of outside input (issue 20): Buildbot's build JSON
//! as the relay of a real `hipkit serve` receives it over loopback, and the configuration
//! loader. Each: no panic, every refusal a 4xx with HipChat's envelope (or a settings error
//! that says what is wrong); the server keeps serving.

use hipkit::{Overrides, Settings};
use hipkit_testkit::{BlockingApi, Proc, TOKEN, hipkit_bin, props};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use std::cell::Cell;

/// A finished build as Buildbot's HttpStatusPush sends it.
fn build() -> Value {
    json!({
        "buildid": 21, "number": 8, "builderid": 79, "buildrequestid": 12, "complete": true,
        "complete_at": 10_000_009, "results": 2, "state_string": "failed",
        "properties": {"branch": ["main", "Build"], "owners": [["alice@example.com"], "Build"]},
        "url": "http://buildbot:8010/#/builders/79/builds/8",
        "builder": {"builderid": 79, "name": "Builder0", "tags": ["ci"]},
        "buildset": {"bsid": 99, "sourcestamps": [{"branch": "main", "revision": "abc"}]},
        "prev_build": {"number": 7, "results": 0},
        "parentbuild": null, "parentbuilder": null
    })
}

/// The build with up to three fields (by JSON pointer) replaced or removed, or any bytes.
fn mutated_build() -> impl Strategy<Value = Vec<u8>> {
    let pointers = vec![
        "/buildid",
        "/number",
        "/results",
        "/complete",
        "/state_string",
        "/url",
        "/properties",
        "/properties/branch",
        "/builder",
        "/builder/name",
        "/builder/tags",
        "/buildset",
        "/buildset/sourcestamps",
        "/prev_build",
        "/prev_build/results",
        "/other",
    ];
    prop_oneof![
        4 => props::mutated(build(), pointers, 1..4),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// A status and body: a success, or a 4xx with HipChat's envelope naming the problem.
fn answered_or_refused(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{} {}", status, body);
    if status >= 400 {
        prop_assert_eq!(&body["error"]["code"], &json!(status), "{}", body);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty(), "{}", body);
    }
    Ok(())
}

/// Runs 256 cases without regression files (a failure prints its minimal input).
fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn any_build_posted_to_the_relay_is_queued_or_refused_with_an_envelope() {
    let emulator = hipkit_bin!().emulator(&["--room", "Builds"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hipkit.toml");
    std::fs::write(
        &config,
        "[[reporters.hipchat]]\nbuilder_room_map = { Builder0 = \"Builds\" }\nmode = \"all\"\n\n\
         [[reporters.http]]\nserver_url = \"http://127.0.0.1:9/unreachable\"\n",
    )
    .unwrap();
    let store = dir.path().join("hipkit.db");
    let serve: Proc = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", config.to_str().unwrap()),
            ("HIPCHAT_ENDPOINT", &emulator.base),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
        ],
        "delivery:",
    );
    let api = BlockingApi::anonymous(&serve.base);
    let accepted = Cell::new(0u32);
    runner()
        .run(
            &(mutated_build(), proptest::option::of("[!-~]{1,40}")),
            |(body, key)| {
                let mut request = api
                    .request(Method::POST, "/hooks/buildbot")
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(key) = key {
                    request = request.header("idempotency-key", key);
                }
                let (status, _, answer) = api.send(request);
                if status == 202 {
                    accepted.set(accepted.get() + 1);
                }
                answered_or_refused(status, &answer)
            },
        )
        .unwrap();
    // The property is only worth something if both sides were reached.
    assert!(accepted.get() > 0, "no mutated build was accepted");
    let (status, _, _) = api.send(api.request(Method::GET, "/healthz"));
    assert_eq!(status, 200, "serve keeps serving");
}

/// A TOML value of some kind, sometimes one no key takes.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[ -~]{0,20}\"".prop_map(|s| s.replace('\\', "/")),
        Just("\"127.0.0.1:0\"".to_owned()),
        Just("\"http://127.0.0.1:9\"".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("[]".to_owned()),
        Just("[\"a\", 1]".to_owned()),
        Just("{ Builder0 = \"Builds\" }".to_owned()),
        Just("1.5".to_owned()),
        "[ -~]{0,12}",
    ]
}

/// A configuration file: sections hipkit knows, keys it knows and some it does not.
fn config_file() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "[hipchat]",
        "[serve]",
        "[store]",
        "[delivery]",
        "[log]",
        "[integrations]",
        "[emulator]",
        "[reporters.relay]",
        "[[reporters.hipchat]]",
        "[[reporters.http]]",
        "[unknown]",
    ]);
    let key = prop::sample::select(vec![
        "endpoint",
        "token",
        "auth_token",
        "timeout",
        "verify",
        "listen",
        "api_token",
        "path",
        "url",
        "room",
        "level",
        "max_attempts",
        "backoff_min_ms",
        "builder_room_map",
        "server_url",
        "mode",
        "rooms",
        "retention",
        "secret",
        "wantProperties",
        "colour",
    ]);
    let entry = (key, toml_value()).prop_map(|(k, v)| format!("{k} = {v}\n"));
    prop::collection::vec((section, prop::collection::vec(entry, 0..4)), 0..5).prop_map(
        |sections| {
            sections
                .into_iter()
                .map(|(head, entries)| format!("{head}\n{}\n", entries.concat()))
                .collect()
        },
    )
}

#[test]
fn any_configuration_file_loads_or_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hipkit.toml");
    let loaded = Cell::new(0u32);
    runner()
        .run(&config_file(), |text| {
            std::fs::write(&path, &text).unwrap();
            match Settings::load(Some(&path), &Overrides::default()) {
                Ok(_) => loaded.set(loaded.get() + 1),
                Err(e) => {
                    let shown = e.to_string();
                    prop_assert!(!shown.trim().is_empty(), "empty error for {:?}", text);
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(loaded.get() > 0, "no generated configuration loaded");
}

#[test]
fn any_configuration_file_given_to_the_binary_exits_0_or_2_with_a_message() {
    // The same files through the real binary: a refusal is exit status 2 (a usage or
    // validation problem) with a message on stderr, never a panic (101) or a silent failure.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hipkit.toml");
    let hipkit = hipkit_bin!();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&config_file(), |text| {
            std::fs::write(&path, &text).unwrap();
            let out = hipkit.run(
                &["config", "serve"],
                &[("HIPKIT_CONFIG", path.to_str().unwrap())],
            );
            let code = out.status.code();
            let stderr = String::from_utf8_lossy(&out.stderr);
            prop_assert!(
                code == Some(0) || (code == Some(2) && !stderr.trim().is_empty()),
                "exit {:?} for {:?}: {}",
                code,
                text,
                stderr
            );
            Ok(())
        })
        .unwrap();
}
