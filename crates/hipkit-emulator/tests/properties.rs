#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Property tests over loopback (issue 20): arbitrary requests to the real emulator's v2 and
//! v1 endpoints are accepted or refused with a 4xx and HipChat's error envelope naming the
//! problem; never a 5xx, never a dropped connection.

use hipkit_testkit::{Api, Emulator, emulator};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

/// The emulator under test and the runtime its tasks run on.
struct Loopback {
    runtime: Runtime,
    emulator: Emulator,
}

impl Loopback {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime.block_on(emulator().rooms(&["Build Room", "Ops"]).start());
        Self { runtime, emulator }
    }

    /// Runs `check` on 256 cases of `strategy`, each with a client for the emulator.
    fn run<S: Strategy>(
        &self,
        strategy: S,
        check: impl Fn(&Api, S::Value) -> reqwest::RequestBuilder,
    ) {
        let api = self.emulator.api();
        // No regression files: a failure prints its minimal input, which goes into a unit test.
        let config = Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        };
        TestRunner::new(config)
            .run(&strategy, |case| {
                let reply = self.runtime.block_on(Api::send_text(check(&api, case)));
                answered_or_refused(reply)
            })
            .unwrap();
    }
}

/// A success, or a 4xx whose body is HipChat's envelope with that code, a type and a message.
fn answered_or_refused(
    (status, _, body): (u16, reqwest::header::HeaderMap, String),
) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{} {}", status, body);
    if status >= 400 {
        let envelope: Value = serde_json::from_str(&body)
            .map_err(|e| TestCaseError::fail(format!("{status}: not JSON ({e}): {body}")))?;
        prop_assert_eq!(&envelope["error"]["code"], &json!(status), "{}", body);
        prop_assert!(envelope["error"]["type"].is_string(), "{}", body);
        let message = envelope["error"]["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty(), "{}", body);
    }
    Ok(())
}

/// A room as a path segment: an existing id or name, an unknown one, or noise.
fn room() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("Build%20Room".to_owned()),
        Just("999999".to_owned()),
        Just("18446744073709551616".to_owned()),
        "[A-Za-z0-9%._~-]{1,20}",
    ]
}

/// Bodies a client might send: notification-shaped JSON with odd values, or any bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,30}".prop_map(Value::String),
        (0usize..11_000).prop_map(|n| Value::String("m".repeat(n))),
        Just(json!({"style": "application", "title": "t", "id": "x"})),
        Just(json!([1, {"a": null}])),
    ];
    let key = prop::sample::select(vec![
        "message",
        "color",
        "message_format",
        "notify",
        "from",
        "card",
        "attach_to",
        "other",
    ]);
    prop_oneof![
        3 => prop::collection::btree_map(key, value, 0..6)
            .prop_map(|m| serde_json::to_vec(&m).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn content_type() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/related; boundary=x",
        "",
    ])
}

#[test]
fn any_v2_post_to_a_room_is_accepted_or_refused_with_an_envelope() {
    let loopback = Loopback::start();
    let kind = prop::sample::select(vec!["notification", "message", "share/file"]);
    loopback.run(
        (room(), kind, content_type(), body()),
        |api, (room, kind, content_type, body)| {
            api.request(Method::POST, &format!("/v2/room/{room}/{kind}"))
                .header(CONTENT_TYPE, content_type)
                .body(body)
        },
    );
}

#[test]
fn any_v1_form_is_sent_or_refused_with_an_envelope() {
    let loopback = Loopback::start();
    let token = loopback.emulator.token().to_owned();
    let field = (
        prop::sample::select(vec![
            "room_id",
            "from",
            "message",
            "message_format",
            "notify",
            "color",
            "format",
        ]),
        prop_oneof![
            Just("1".to_owned()),
            Just("Ops".to_owned()),
            Just("hipkit".to_owned()),
            ".{0,20}",
        ],
    );
    loopback.run(prop::collection::vec(field, 0..8), move |api, fields| {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        api.request(
            Method::POST,
            &format!("/v1/rooms/message?auth_token={token}"),
        )
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
    });
}

#[test]
fn any_query_on_history_and_room_lists_is_answered_or_refused_with_an_envelope() {
    let loopback = Loopback::start();
    let param = (
        prop::sample::select(vec![
            "max-results",
            "start-index",
            "date",
            "end-date",
            "reverse",
            "timezone",
            "include-private",
            "include-archived",
            "not-before",
        ]),
        prop_oneof![
            "-?[0-9]{1,22}",
            Just("recent".to_owned()),
            Just("2026-12-07T10:00:00+00:00".to_owned()),
            ".{0,20}",
        ],
    );
    let path = prop::sample::select(vec![
        "/v2/room/1/history",
        "/v2/room/1/history/latest",
        "/v2/room",
        "/v2/user",
        "/v2/room/1/member",
        "/v2/room/1/participant",
    ]);
    loopback.run(
        (path, prop::collection::vec(param, 0..5)),
        |api, (path, params)| api.request(Method::GET, path).query(&params),
    );
}
