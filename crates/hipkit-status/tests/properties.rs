//! Property tests (issue 20) for Buildbot build JSON, the outside input of `hipkit-status`:
//! any bytes and any build-shaped JSON either parse into a build whose accessors answer, or
//! are refused with a `BuildError`; over HTTP, the relay answers every body with a 2xx or a
//! 4xx envelope (never a 5xx, never a dropped connection), running the reporters' templates
//! on whatever it accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_status::config::ReportersConfig;
use hipkit_status::report::ReporterDeps;
use hipkit_status::{Build, History, Relay, RelayAuth};
use hipkit_testkit::assert_envelope;
use hipkit_transport::{NullTransport, Transport};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Cases per property: modest, so scripts/test stays fast.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What becomes of one field of a well-formed build: kept, removed, or any value.
#[derive(Debug, Clone)]
enum Edit {
    Keep,
    Remove,
    Set(Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        8 => Just(Edit::Keep),
        1 => Just(Edit::Remove),
        2 => any_json().prop_map(Edit::Set),
    ]
}

/// The fields a reporter reads, each edited, in a build Buildbot could have sent.
const FIELDS: [&str; 13] = [
    "buildid",
    "number",
    "builderid",
    "complete",
    "results",
    "url",
    "properties",
    "steps",
    "prev_build",
    "state_string",
    "builder",
    "builder.name",
    "builder.tags",
];

fn build_like() -> impl Strategy<Value = Value> {
    prop::collection::vec(edit(), FIELDS.len()).prop_map(|edits| {
        let mut build = json!({
            "buildid": 20, "number": 7, "builderid": 79, "complete": true, "results": 2,
            "url": "http://bb/#/builders/79/builds/7", "state_string": "failed",
            "properties": {"branch": ["main", "Build"]}, "steps": [],
            "prev_build": {"results": 0, "number": 6},
            "builder": {"builderid": 79, "name": "Builder0", "tags": ["nightly"]},
        });
        for (field, edit) in FIELDS.iter().zip(edits) {
            let (dict, key) = match field.split_once('.') {
                Some((outer, key)) => (build.get_mut(outer).and_then(Value::as_object_mut), key),
                None => (build.as_object_mut(), *field),
            };
            if let Some(dict) = dict {
                apply(dict, key, edit);
            }
        }
        build
    })
}

fn apply(dict: &mut Map<String, Value>, key: &str, edit: Edit) {
    match edit {
        Edit::Keep => {}
        Edit::Remove => {
            dict.remove(key);
        }
        Edit::Set(v) => {
            dict.insert(key.to_owned(), v);
        }
    }
}

/// Reads everything a reporter reads from an accepted build.
fn read_all(build: &Build) {
    let _ = (
        build.builder_name(),
        build.url(),
        build.number(),
        build.results(),
    );
    let _ = (build.complete(), build.event(), build.prev_build());
    let _ = build.builder_tags().count();
    let _ = build.property("branch");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_a_build_or_a_build_error(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            build_like().prop_map(|v| v.to_string().into_bytes()),
            any_json().prop_map(|v| v.to_string().into_bytes()),
        ]
    ) {
        match Build::from_json(&body) {
            Ok(build) => {
                read_all(&build);
                prop_assert_eq!(&build.json_bytes()[..], &body[..], "kept byte for byte");
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn the_relay_answers_any_body_with_2xx_or_a_4xx_envelope(
        body in prop_oneof![
            3 => build_like().prop_map(|v| v.to_string().into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..200),
            1 => any_json().prop_map(|v| v.to_string().into_bytes()),
        ]
    ) {
        let (runtime, base) = &*RELAY;
        let (status, answer) = runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{base}/hooks/buildbot"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a body"))
        });
        if !(200..300).contains(&status) {
            prop_assert!((400..500).contains(&status), "{} {}", status, answer);
            let envelope: Value = serde_json::from_str(&answer).expect("a JSON envelope");
            assert_envelope(&envelope, status, "");
        }
    }
}

/// One relay for every case: a HipChat reporter whose templates read the build, sending
/// nowhere (the null transport), served over loopback on a runtime of its own.
static RELAY: std::sync::LazyLock<(tokio::runtime::Runtime, String)> =
    std::sync::LazyLock::new(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let base = runtime.block_on(async {
            let table = json!({
                "hipchat": [{
                    "builder_room_map": {"Builder0": "Builds"},
                    "want_properties": true,
                    "want_previous_build": true,
                    "message": "{{ builder }} #{{ build.number }} {{ result }} {{ build.url }} \
                                {{ build.properties.branch }} {{ build.prev_build }}",
                    "extra_params": {"color": "{{ 'red' if build.results == 2 else 'green' }}"},
                }],
            });
            let checked = serde_json::from_value::<ReportersConfig>(table)
                .expect("config")
                .check()
                .expect("checked");
            let null: Arc<dyn Transport> = Arc::new(NullTransport::new());
            let deps = ReporterDeps {
                transport: Ok(null),
                hipchat: hipchat::ClientConfig::default(),
                history: History::none(),
                queue: None,
            };
            let reporters = checked.build(&deps).expect("reporters");
            let relay = Relay::new(reporters, RelayAuth::new(&Default::default()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("address");
            tokio::spawn(async move { axum::serve(listener, relay.router()).await });
            format!("http://{addr}")
        });
        (runtime, base)
    });
