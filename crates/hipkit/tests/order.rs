//! Issue 25 point 3: what one destination is sent arrives in the order it was accepted. Real
//! `hipkit emulator` and `hipkit serve` processes over loopback; the emulator holds back or
//! refuses a destination's first call, which (before the outbox had lanes) let the calls
//! behind it overtake.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_testkit::{BlockingApi, Proc, TOKEN, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const ROOM: &str = "Builds";
const USER: &str = "dev@example.com";
const RELAY_SECRET: &str = "relay-secret-4471";
const BUILDS: u64 = 10;

/// `hipkit serve` against `emulator`, its outbox in `dir`, with `config` as hipkit.toml.
fn serve(dir: &Path, emulator: &str, config: &str, extra_env: &[(&str, &str)]) -> Proc {
    let cfg = dir.join("hipkit.toml");
    std::fs::write(&cfg, config).expect("write config");
    let store = dir.join("hipkit.db");
    let mut env = vec![
        ("HIPKIT_CONFIG", cfg.to_str().expect("utf-8")),
        ("HIPCHAT_ENDPOINT", emulator),
        ("HIPCHAT_API_TOKEN", TOKEN),
        ("HIPKIT_STORE", store.to_str().expect("utf-8")),
    ];
    env.extend_from_slice(extra_env);
    hipkit_bin!().spawn(&["serve", "--listen", "127.0.0.1:0"], &env, "delivery:")
}

/// Message texts, oldest first, from a history page at `path` of the emulator.
fn texts(emulator: &str, path: &str) -> Vec<String> {
    BlockingApi::at(emulator)
        .items(path)
        .iter()
        .map(|i| i["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn room_texts(emulator: &str, room: &str) -> Vec<String> {
    texts(
        emulator,
        &format!("/v2/room/{room}/history/latest?max-results=1000"),
    )
}

fn user_texts(emulator: &str) -> Vec<String> {
    texts(
        emulator,
        &format!("/v2/user/{USER}/history/latest?max-results=1000"),
    )
}

/// Build `number` as Buildbot's HttpStatusPush sends it, started or finished.
fn build(number: u64, complete: bool) -> Value {
    json!({
        "buildid": 500 + number, "number": number, "builderid": 7, "buildrequestid": number,
        "complete": complete, "results": if complete { json!(0) } else { Value::Null },
        "state_string": if complete { "build successful" } else { "starting" },
        "url": format!("http://buildbot:8010/#/builders/7/builds/{number}"),
        "builder": {"builderid": 7, "name": "Builder0", "tags": []},
        "properties": {}, "buildset": {"bsid": number, "sourcestamps": []},
    })
}

/// Posts build `number`'s start, then its finish, to the relay, as Buildbot does.
fn relay_build(serve: &str, number: u64) {
    let api = BlockingApi::anonymous(serve);
    for complete in [false, true] {
        let req = api.request(Method::POST, "/hooks/buildbot");
        let req = req.header("X-Hipkit-Secret", RELAY_SECRET);
        let (status, _, answer) = api.send_text(req.json(&build(number, complete)));
        assert_eq!(status, 202, "{answer}");
    }
}

#[test]
fn each_destination_gets_a_builds_reports_in_buildbots_order() {
    let emu = hipkit_bin!().emulator(&["--room", ROOM, "--user", USER]);
    let api = BlockingApi::at(&emu.base);
    // The first call to each destination is held back; without lanes every report behind it
    // overtook it.
    for path in ["/v2/room/", "/v2/user/"] {
        api.add_fault(&json!({"method": "POST", "path": path,
                              "action": {"delay": {"delay_ms": 1500}}}));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[[reporters.hipchat]]
builder_room_map = {{ Builder0 = "{ROOM}" }}
builder_user_map = {{ Builder0 = "{USER}" }}
message = "{{{{ builder }}}} {{{{ build.number }}}} {{{{ event }}}}"

[reporters.relay]
secret = "{RELAY_SECRET}"
"#
    );
    let server = serve(dir.path(), &emu.base, &config, &[]);
    let mut expected = Vec::new();
    for number in 1..=BUILDS {
        relay_build(&server.base, number);
        expected.push(format!("Builder0 {number} started"));
        expected.push(format!("Builder0 {number} finished"));
    }
    let want = expected.len();
    wait_until("every report delivered", Duration::from_secs(60), || {
        room_texts(&emu.base, ROOM).len() == want && user_texts(&emu.base).len() == want
    });
    assert_eq!(room_texts(&emu.base, ROOM), expected, "the room's order");
    assert_eq!(user_texts(&emu.base), expected, "the user's order");
}

#[test]
fn a_retried_first_message_still_arrives_before_the_ones_behind_it() {
    let emu = hipkit_bin!().emulator(&["--room", "Ordered", "--room", "Other"]);
    let api = BlockingApi::at(&emu.base);
    api.add_fault(
        &json!({"method": "POST", "path": "/v2/room/Ordered/", "times": 2,
                          "action": {"status": {"status": 503}}}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(
        dir.path(),
        &emu.base,
        "",
        &[
            ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "300"),
            ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "600"),
        ],
    );
    let send = |room: &str, text: &str| {
        let body = json!({"room": room, "message": text});
        let (status, _, answer) =
            BlockingApi::anonymous(&server.base).call(Method::POST, "/api/v1/messages", Some(body));
        assert_eq!(status, 202, "{answer}");
    };
    let expected: Vec<String> = (1..=5).map(|n| format!("message {n}")).collect();
    for text in &expected {
        send("Ordered", text);
    }
    // Another room is its own lane: it does not wait for the retries.
    send("Other", "elsewhere");
    wait_until("every message delivered", Duration::from_secs(30), || {
        room_texts(&emu.base, "Ordered").len() == expected.len()
    });
    assert_eq!(room_texts(&emu.base, "Ordered"), expected);
    assert_eq!(room_texts(&emu.base, "Other"), ["elsewhere"]);
    let log = api.request_log();
    let refused = log
        .iter()
        .filter(|r| r["path"] == "/v2/room/Ordered/notification" && r["status"] == 503)
        .count();
    assert_eq!(refused, 2, "the first message was retried twice: {log:?}");
}
