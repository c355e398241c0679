//! `hipkit serve` end to end: a real SQLite file, real `hipkit emulator` and `hipkit serve`
//! processes over loopback, crashes by SIGKILL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{Api, BlockingApi, Proc, TOKEN, assert_envelope, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `hipkit serve` against `emulator` with the outbox in `store`.
fn serve(emulator: &str, token: &str, store: &Path, extra_env: &[(&str, &str)]) -> Proc {
    let store = store.to_str().expect("utf-8 path");
    let mut env = vec![
        ("HIPCHAT_ENDPOINT", emulator),
        ("HIPCHAT_API_TOKEN", token),
        ("HIPKIT_STORE", store),
        ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "20"),
        ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "200"),
    ];
    env.extend_from_slice(extra_env);
    hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0", "--timeout", "1"],
        &env,
        "delivery:",
    )
}

/// Settings turning off the limits `serve` keeps for HipChat (30 messages a minute per room
/// by default): for tests that send thousands to one room of an emulator enforcing none.
const NO_LIMITS: [(&str, &str); 2] = [
    ("HIPKIT_HIPCHAT__RATE_LIMIT", "0"),
    ("HIPKIT_HIPCHAT__FLOOD_LIMIT", "0"),
];

fn fault(emulator: &str, rule: Value) {
    BlockingApi::at(emulator).add_fault(&rule);
}

fn send(serve: &str, body: &Value) -> (u16, Value) {
    let (status, _, answer) =
        BlockingApi::anonymous(serve).call(Method::POST, "/api/v1/messages", Some(body.clone()));
    (status, answer)
}

fn message(serve: &str, id: &str) -> Value {
    BlockingApi::anonymous(serve).get(&format!("/api/v1/messages/{id}"))
}

/// The text of `serve`'s `/metrics` (empty when it does not answer).
fn metrics(serve: &str) -> String {
    let api = BlockingApi::anonymous(serve);
    api.try_send_text(api.request(Method::GET, "/metrics"))
        .map(|(_, _, text)| text)
        .unwrap_or_default()
}

/// `hipkit_outbox_messages{state="..."}` from `/metrics`.
fn outbox_gauge(serve: &str, state: &str) -> u64 {
    let text = metrics(serve);
    let prefix = format!("hipkit_outbox_messages{{state=\"{state}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn room_count(emulator: &str, room: &str) -> u64 {
    BlockingApi::at(emulator).get(&format!("/v2/room/{room}/statistics"))["messages_sent"]
        .as_u64()
        .unwrap_or(0)
}

/// Every message text in a room, paging through history by date.
fn room_messages(emulator: &str, room: &str) -> Vec<String> {
    let now = "2999-01-01T00:00:00+00:00";
    let api = BlockingApi::at(emulator);
    let mut all = Vec::new();
    loop {
        let items = api.items(&format!(
            "/v2/room/{room}/history?date={}&max-results=1000&start-index={}",
            now.replace('+', "%2B"),
            all.len()
        ));
        if items.is_empty() {
            return all;
        }
        all.extend(
            items
                .iter()
                .map(|i| i["message"].as_str().unwrap_or("").to_owned()),
        );
    }
}

#[test]
fn ten_thousand_messages_survive_two_kill_9s_at_least_once() {
    const TOTAL: usize = 10_000;
    const CONCURRENCY: u64 = 4;
    // Every message is read back from history: keep more than the default 1,000 per room.
    let emu = hipkit_bin!().emulator(&["--room", "Crash", "--retention", "100000"]);
    // Slow delivery a little so the kills land mid-delivery.
    fault(
        &emu.base,
        json!({"method": "POST", "path": "/v2/room/Crash/notification", "times": 1_000_000,
               "action": {"delay": {"delay_ms": 2}}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("outbox.db");
    let env = [
        ("HIPKIT_CONCURRENCY", "4"),
        ("HIPKIT_DELIVERY__LEASE_SECS", "2"),
        NO_LIMITS[0],
        NO_LIMITS[1],
    ];
    let mut server = serve(&emu.base, TOKEN, &store, &env);

    let base = server.base.clone();
    let senders: Vec<_> = (0..16)
        .map(|t| {
            let base = base.clone();
            std::thread::spawn(move || {
                let api = BlockingApi::anonymous(&base);
                for i in (t..TOTAL).step_by(16) {
                    let body = json!({"room": "Crash", "message": format!("crash-{i}")});
                    let (status, _, answer) =
                        api.call(Method::POST, "/api/v1/messages", Some(body));
                    assert_eq!(status, 202, "{answer}");
                }
            })
        })
        .collect();
    for s in senders {
        s.join().expect("sender thread");
    }

    for threshold in [2_000, 6_000] {
        wait_until(
            "deliveries before the kill",
            Duration::from_secs(120),
            || room_count(&emu.base, "Crash") >= threshold,
        );
        server.kill();
        let delivered = room_count(&emu.base, "Crash");
        assert!(
            delivered < TOTAL as u64,
            "the kill must land mid-delivery (already {delivered} delivered)"
        );
        server = serve(&emu.base, TOKEN, &store, &env);
    }
    wait_until("every record delivered", Duration::from_secs(300), || {
        outbox_gauge(&server.base, "delivered") == TOTAL as u64
    });

    let texts = room_messages(&emu.base, "Crash");
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for t in &texts {
        *seen.entry(t.as_str()).or_default() += 1;
    }
    let duplicates = texts.len() - seen.len();
    println!(
        "delivered {} notifications for {TOTAL} messages: {duplicates} duplicates",
        texts.len()
    );
    for i in 0..TOTAL {
        assert!(
            seen.contains_key(format!("crash-{i}").as_str()),
            "crash-{i} was lost"
        );
    }
    assert_eq!(seen.len(), TOTAL);
    // Only deliveries HipChat answered whose outcome was not yet committed can be repeated:
    // the workers hold at most `2 × concurrency` of those, so per kill at most that many.
    assert!(
        duplicates as u64 <= 2 * (2 * CONCURRENCY),
        "{duplicates} duplicates"
    );
}

#[test]
fn rate_limit_reset_is_respected_by_the_token() {
    let emu = hipkit_bin!().emulator(&["--room", "Limits"]);
    fault(
        &emu.base,
        json!({"method": "POST", "path": "/v2/room/Limits/notification",
               "action": {"status": {"status": 429, "reset_in": 2}}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        &emu.base,
        TOKEN,
        &dir.path().join("o.db"),
        &[("HIPKIT_CONCURRENCY", "1")],
    );
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let (status, body) = send(
                &server.base,
                &json!({"room": "Limits", "message": format!("r{i}")}),
            );
            assert_eq!(status, 202);
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    wait_until(
        "all delivered after the reset",
        Duration::from_secs(30),
        || {
            ids.iter()
                .all(|id| message(&server.base, id)["state"] == "delivered")
        },
    );
    let log: Vec<Value> = emu
        .api()
        .request_log()
        .iter()
        .filter(|r| r["path"] == "/v2/room/Limits/notification")
        .cloned()
        .collect();
    let limited = log
        .iter()
        .find(|r| r["status"] == 429)
        .expect("a 429 was served");
    let reset_ms = (limited["at_ms"].as_u64().unwrap() / 1000 + 2) * 1000;
    let early: Vec<&Value> = log
        .iter()
        .filter(|r| r["at_ms"].as_u64().unwrap() > limited["at_ms"].as_u64().unwrap())
        .filter(|r| r["at_ms"].as_u64().unwrap() < reset_ms)
        .collect();
    assert!(early.is_empty(), "requests before the reset: {early:?}");
    assert_eq!(log.iter().filter(|r| r["status"] == 204).count(), 3);
}

#[test]
fn transient_failures_are_retried_to_success() {
    let emu = hipkit_bin!().emulator(&["--room", "Flaky"]);
    let path = "/v2/room/Flaky/notification";
    fault(
        &emu.base,
        json!({"path": path, "times": 2, "action": {"status": {"status": 503}}}),
    );
    fault(
        &emu.base,
        json!({"path": path, "action": {"delay": {"delay_ms": 3000}}}),
    );
    fault(&emu.base, json!({"path": path, "action": "drop"}));
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&emu.base, TOKEN, &dir.path().join("o.db"), &[]);
    let (status, body) = send(
        &server.base,
        &json!({"room": "Flaky", "message": "eventually"}),
    );
    assert_eq!(status, 202);
    let id = body["id"].as_str().unwrap();
    wait_until("delivery after retries", Duration::from_secs(30), || {
        message(&server.base, id)["state"] == "delivered"
    });
    let rec = message(&server.base, id);
    assert_eq!(
        rec["attempts"], 5,
        "503, 503, timeout, dropped connection, success: {rec}"
    );
    assert!(room_messages(&emu.base, "Flaky").contains(&"eventually".to_owned()));
}

#[test]
fn bad_token_goes_dead_with_hipchats_error_and_can_be_retried() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let server = serve(&emu.base, "not-the-token", &store, &[]);
    let (_, body) = send(&server.base, &json!({"room": "Ops", "message": "denied"}));
    let id = body["id"].as_str().unwrap().to_owned();
    wait_until("dead letter", Duration::from_secs(30), || {
        message(&server.base, &id)["state"] == "dead"
    });
    let rec = message(&server.base, &id);
    assert_eq!(rec["attempts"], 1);
    assert!(
        rec["last_error"]
            .as_str()
            .unwrap()
            .contains("Invalid OAuth session")
    );
    let outbox = |args: &[&str]| {
        let out = hipkit_bin!()
            .command(&["outbox"], &[("HIPKIT_STORE", store.to_str().unwrap())])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = outbox(&["list", "--state", "dead"]);
    assert!(
        listed.contains(&id) && listed.contains("Invalid OAuth session"),
        "{listed}"
    );
    assert!(!listed.contains("not-the-token"), "tokens never appear");
    let as_json: Value = serde_json::from_str(outbox(&["list", "--json"]).trim()).unwrap();
    assert_eq!(
        (as_json["id"].as_str(), as_json["state"].as_str()),
        (Some(id.as_str()), Some("dead"))
    );
    assert!(outbox(&["retry", "--all-dead"]).contains("queued 1"));
    wait_until("dead again", Duration::from_secs(30), || {
        message(&server.base, &id)["state"] == "dead"
    });
    assert!(outbox(&["retry", &id]).contains("queued"));
    assert!(outbox(&["purge", "--delivered-before", "1h"]).contains("purged 0"));
}

#[test]
fn bad_requests_get_json_errors_and_store_nothing() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&emu.base, TOKEN, &dir.path().join("o.db"), &[]);
    let api = BlockingApi::anonymous(&server.base);
    let raw = |ct: Option<&str>, body: Vec<u8>| {
        let mut req = api.request(Method::POST, "/api/v1/messages").body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let (status, _, answer) = api.send(req);
        (status, answer)
    };
    let json_ct = Some("application/json");
    let cases: Vec<(Option<&str>, Vec<u8>, u16, &str)> = vec![
        (json_ct, b"{oops".to_vec(), 400, ""),
        (
            None,
            br#"{"room":"Ops","message":"x"}"#.to_vec(),
            415,
            "Content-Type",
        ),
        (
            json_ct,
            br#"{"room":"Ops","message":"x","colour":"red"}"#.to_vec(),
            422,
            "colour",
        ),
        (
            json_ct,
            br#"{"room":"Ops","user":"@bob","message":"x"}"#.to_vec(),
            400,
            "exactly one",
        ),
        (json_ct, br#"{"message":"x"}"#.to_vec(), 400, "exactly one"),
        (
            json_ct,
            br#"{"room":"Ops","message":""}"#.to_vec(),
            400,
            "`message`",
        ),
        (
            json_ct,
            br#"{"room":"Ops","message":"x","color":"teal"}"#.to_vec(),
            422,
            "teal",
        ),
        (
            json_ct,
            br#"{"user":"@bob","message":"x","from":"CI"}"#.to_vec(),
            400,
            "room notifications only",
        ),
        (
            json_ct,
            json!({"room": "Ops", "message": "x".repeat(70_000)})
                .to_string()
                .into_bytes(),
            413,
            "",
        ),
    ];
    for (ct, body, code, part) in cases {
        let (status, answer) = raw(ct, body);
        assert_eq!(status, code, "{answer}");
        assert_envelope(&answer, code, part);
    }
    assert_eq!(
        raw(json_ct, br#"{"room":"Ops","message":"fine"}"#.to_vec()).0,
        202,
        "still serving"
    );
    let (missing, _, _) = api.call(Method::GET, "/api/v1/messages/nope", None);
    assert_eq!(missing, 404);
    wait_until(
        "only the valid message stored",
        Duration::from_secs(10),
        || outbox_gauge(&server.base, "delivered") == 1,
    );
    for state in ["queued", "in_flight", "dead"] {
        assert_eq!(outbox_gauge(&server.base, state), 0);
    }
    assert_eq!(api.call(Method::GET, "/healthz", None).0, 200);
}

#[test]
fn api_token_guards_the_send_api() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        &emu.base,
        TOKEN,
        &dir.path().join("o.db"),
        &[("HIPKIT_SERVE__API_TOKEN", "api-secret")],
    );
    let body = json!({"room": "Ops", "message": "guarded"});
    let (status, answer) = send(&server.base, &body);
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], 401);
    let (ok, _, _) = BlockingApi::new(Api::new(&server.base, "api-secret")).call(
        Method::POST,
        "/api/v1/messages",
        Some(body),
    );
    assert_eq!(ok, 202);
}

#[test]
fn serve_without_endpoint_starts_the_builtin_emulator_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let mut server = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
        ],
        "emulator token",
    );
    let emulator_line = server
        .lines
        .iter()
        .find(|l| l.contains("built-in emulator"))
        .expect("emulator URL printed");
    assert!(
        server
            .lines
            .iter()
            .any(|l| l.contains("messages stay in this local emulator")),
        "the banner says where messages go: {:?}",
        server.lines
    );
    let emulator = emulator_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let token = server
        .lines
        .last()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let (status, _) = send(
        &server.base,
        &json!({"room": "Build Room", "message": "first run", "color": "green"}),
    );
    assert_eq!(status, 202);
    // More than HipChat's 30 a minute per room: the built-in emulator enforces no limit, so
    // the outbox keeps none (with HipChat's, the 31st would wait a minute for its slot).
    for n in 0..40 {
        let (status, _) = send(
            &server.base,
            &json!({"room": "Build Room", "message": format!("message {n}")}),
        );
        assert_eq!(status, 202);
    }
    wait_until(
        "all 41 delivered to the built-in emulator, unpaced",
        Duration::from_secs(30),
        || {
            let page = BlockingApi::new(Api::new(&emulator, &token))
                .get("/v2/room/Build%20Room/history?max-results=100");
            page["items"].as_array().is_some_and(|i| i.len() == 41)
        },
    );
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
}

#[test]
fn a_token_without_an_endpoint_is_refused_unless_the_emulator_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let env = [
        ("HIPKIT_STORE", store.to_str().unwrap()),
        ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
        // A typo in HIPCHAT_ENDPOINT's name: the real token, no endpoint.
        ("HIPCHAT_ENDPIONT", "https://hipchat.example.com"),
        ("HIPCHAT_API_TOKEN", TOKEN),
    ];
    let out = hipkit_bin!().run(&["serve", "--listen", "127.0.0.1:0"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for names in ["HIPCHAT_API_TOKEN", "HIPCHAT_ENDPOINT", "--emulator"] {
        assert!(err.contains(names), "the error names {names}: {err}");
    }
    assert!(!err.contains(TOKEN), "{err}");
    assert!(!store.exists(), "nothing was opened");

    let both = hipkit_bin!().run(
        &["serve", "--listen", "127.0.0.1:0", "--emulator"],
        &[
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPCHAT_ENDPOINT", "http://127.0.0.1:9"),
        ],
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("choose one"));

    // Asked for by the config key: the token is the emulator's.
    let asked = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_SERVE__EMULATOR", "true"),
        ],
        "HipChat:",
    );
    let (status, _) = send(
        &asked.base,
        &json!({"room": "Build Room", "message": "asked"}),
    );
    assert_eq!(status, 202);
}

#[test]
fn listening_beyond_loopback_with_anonymous_entry_points_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let emu = hipkit_bin!().emulator(&[]);
    let env = [
        ("HIPKIT_STORE", store.to_str().unwrap()),
        ("HIPCHAT_ENDPOINT", emu.base.as_str()),
        ("HIPCHAT_API_TOKEN", TOKEN),
    ];
    // Refused before anything binds: the test never listens beyond loopback.
    let out = hipkit_bin!().run(&["serve", "--listen", "0.0.0.0:0"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for open in [
        "/api/v1/messages",
        "/hooks/buildbot",
        "unauthenticated_beyond_loopback",
    ] {
        assert!(err.contains(open), "the error names {open}: {err}");
    }
    let folder = tempfile::tempdir().unwrap();
    let with_token = [
        env.as_slice(),
        &[
            ("HIPKIT_SERVE__API_TOKEN", "serve-secret-token"),
            ("HIPKIT_INTEGRATIONS__PATH", folder.path().to_str().unwrap()),
        ],
    ]
    .concat();
    let out = hipkit_bin!().run(&["serve", "--listen", "0.0.0.0:0"], &with_token);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("/api/v1/messages") && !err.contains("/hooks/buildbot"),
        "the API token closes the send API and the relay: {err}"
    );
    assert!(
        err.contains("/hooks/hipchat") && err.contains("jwt_secret"),
        "only what is still open is named: {err}"
    );
    assert!(!err.contains("serve-secret-token"), "{err}");
}

#[test]
fn django_backend_paths_and_the_file_backend_are_honoured() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let body = json!({"room": "Ops", "message": "kept in memory"});

    let memory = serve(
        &emu.base,
        TOKEN,
        &store,
        &[(
            "HIPCHAT_BACKEND",
            "djhipchat.backends.locmem.HipChatBackend",
        )],
    );
    assert!(
        memory.lines.iter().any(|l| l.contains("delivery:  memory")),
        "{:?}",
        memory.lines
    );
    let (status, answer) = send(&memory.base, &body);
    assert_eq!(status, 200, "memory delivers at once: {answer}");
    assert_eq!(answer["state"], "delivered");
    let tracked = format!("/api/v1/messages/{}", answer["id"].as_str().unwrap());
    let (tracked, _, _) = BlockingApi::anonymous(&memory.base).call(Method::GET, &tracked, None);
    assert_eq!(tracked, 404, "tracking needs the outbox");
    assert_eq!(room_count(&emu.base, "Ops"), 0, "nothing reached HipChat");

    let lines = dir.path().join("sent.jsonl");
    let file = serve(
        &emu.base,
        TOKEN,
        &store,
        &[
            ("HIPCHAT_BACKEND", "file"),
            ("HIPKIT_DELIVERY__FILE_PATH", lines.to_str().unwrap()),
        ],
    );
    assert_eq!(
        send(
            &file.base,
            &json!({"user": "@admin", "message": "to a file"})
        )
        .0,
        200
    );
    let written: Value =
        serde_json::from_str(std::fs::read_to_string(&lines).unwrap().trim()).unwrap();
    assert_eq!(written["to"]["user"], "@admin");
    assert_eq!(written["message"], "to a file");

    let unknown = hipkit_bin!()
        .command(
            &["serve", "--listen", "127.0.0.1:0", "--backend", "smtp"],
            &[("HIPKIT_STORE", store.to_str().unwrap())],
        )
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown delivery backend"));
}

#[test]
fn after_a_kill_9_the_restarted_serve_takes_back_the_dead_leases_at_once() {
    const TOTAL: usize = 2_000;
    // Every message is read back from history: keep more than the default 1,000 per room.
    let emu = hipkit_bin!().emulator(&["--room", "Restart", "--retention", "100000"]);
    fault(
        &emu.base,
        json!({"method": "POST", "path": "/v2/room/Restart/notification", "times": 1_000_000,
               "action": {"delay": {"delay_ms": 5}}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("outbox.db");
    // An hour-long lease: without recovery at start, leased messages would wait an hour, so
    // finishing at all proves the restarted process took them back.
    let env = [
        ("HIPKIT_CONCURRENCY", "8"),
        ("HIPKIT_DELIVERY__LEASE_SECS", "3600"),
        NO_LIMITS[0],
        NO_LIMITS[1],
    ];
    let mut server = serve(&emu.base, TOKEN, &store, &env);
    for i in 0..TOTAL {
        let (status, _) = send(
            &server.base,
            &json!({"room": "Restart", "message": format!("restart-{i}")}),
        );
        assert_eq!(status, 202);
    }
    for threshold in [300, 900] {
        wait_until(
            "deliveries before the kill",
            Duration::from_secs(120),
            || room_count(&emu.base, "Restart") >= threshold,
        );
        server.kill();
        server = serve(&emu.base, TOKEN, &store, &env);
    }
    wait_until(
        "every message delivered after the restarts",
        Duration::from_secs(120),
        || outbox_gauge(&server.base, "delivered") == TOTAL as u64,
    );
    let texts = room_messages(&emu.base, "Restart");
    for i in 0..TOTAL {
        assert!(
            texts.contains(&format!("restart-{i}")),
            "restart-{i} was lost"
        );
    }
}

#[test]
fn a_second_serve_on_the_same_store_is_refused_and_outbox_still_reads_it() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let first = serve(&emu.base, TOKEN, &store, &[]);
    let (status, _) = send(&first.base, &json!({"room": "Ops", "message": "one"}));
    assert_eq!(status, 202);
    let store_env = ("HIPKIT_STORE", store.to_str().unwrap());
    let second = hipkit_bin!().run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", &emu.base),
            ("HIPCHAT_API_TOKEN", TOKEN),
            store_env,
        ],
    );
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another") && err.contains("o.db"), "{err}");
    let listed = hipkit_bin!().run(&["outbox", "list"], &[store_env]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("room:Ops"));
    let (status, _) = send(&first.base, &json!({"room": "Ops", "message": "two"}));
    assert_eq!(status, 202, "the first serve keeps serving");
}

#[test]
fn outbox_list_escapes_terminal_controls_and_purge_refuses_impossible_ages() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let server = serve(&emu.base, TOKEN, &store, &[]);
    let hostile = "\u{1b}]0;pwned\u{7}\u{202e}";
    let (status, body) = send(&server.base, &json!({"room": hostile, "message": "x"}));
    assert_eq!(status, 202, "{body}");
    let (_, kept) = send(&server.base, &json!({"room": "Ops", "message": "keep"}));
    let kept = kept["id"].as_str().unwrap().to_owned();
    wait_until("delivered", Duration::from_secs(30), || {
        message(&server.base, &kept)["state"] == "delivered"
    });
    let outbox = |args: &[&str]| {
        let args: Vec<&str> = ["outbox"].iter().chain(args).copied().collect();
        hipkit_bin!().run(&args, &[("HIPKIT_STORE", store.to_str().unwrap())])
    };
    let listed = outbox(&["list"]);
    assert!(listed.status.success());
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}') && !table.contains('\u{202e}'));
    assert!(table.contains(r"\u{1b}]0;pwned\u{7}\u{202e}"), "{table}");

    let purge = outbox(&["purge", "--delivered-before", "300000000y"]);
    assert_eq!(purge.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&purge.stderr).contains("before 1970"));
    assert_eq!(
        message(&server.base, &kept)["state"],
        "delivered",
        "nothing was purged"
    );
}

/// POSTs a message with an `Idempotency-Key`; returns status, body and the replay header.
fn send_keyed(serve: &str, key: &str, body: &Value) -> (u16, Value, bool) {
    let api = BlockingApi::anonymous(serve);
    let req = api
        .request(Method::POST, "/api/v1/messages")
        .header("Idempotency-Key", key)
        .json(body);
    let (status, headers, answer) = api.send(req);
    (status, answer, headers.contains_key("idempotent-replayed"))
}

#[test]
fn a_retried_request_with_the_same_idempotency_key_stores_nothing_new() {
    let emu = hipkit_bin!().emulator(&["--room", "Once"]);
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&emu.base, TOKEN, &dir.path().join("o.db"), &[]);
    let body = json!({"room": "Once", "message": "exactly once"});
    let (status, first, replayed) = send_keyed(&server.base, "deploy-42", &body);
    assert_eq!((status, replayed), (202, false));
    let (status, again, replayed) = send_keyed(&server.base, "deploy-42", &body);
    assert_eq!((status, replayed), (202, true), "{again}");
    assert_eq!(again, first, "the first answer, again");
    // The body's `id` is the same key.
    let (status, by_id) = send(
        &server.base,
        &json!({"room": "Once", "message": "exactly once", "id": "deploy-42"}),
    );
    assert_eq!((status, &by_id["id"]), (202, &first["id"]));
    let (status, conflict, _) = send_keyed(
        &server.base,
        "deploy-42",
        &json!({"room": "Once", "message": "something else"}),
    );
    assert_eq!(status, 409, "{conflict}");
    let id = first["id"].as_str().unwrap();
    wait_until("delivered", Duration::from_secs(30), || {
        message(&server.base, id)["state"] == "delivered"
    });
    assert_eq!(room_messages(&emu.base, "Once"), vec!["exactly once"]);
    assert_eq!(outbox_gauge(&server.base, "delivered"), 1);
}

#[test]
fn answers_tell_the_truth_while_another_process_holds_the_write_lock() {
    let emu = hipkit_bin!().emulator(&["--room", "Truth"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let server = serve(
        &emu.base,
        TOKEN,
        &store,
        &[("HIPKIT_SERVE__REQUEST_TIMEOUT_SECS", "1")],
    );
    // Another process takes SQLite's write lock for three seconds.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
             c.execute('BEGIN IMMEDIATE'); print('locked', flush=True)\n\
             time.sleep(3); c.execute('ROLLBACK')",
        ])
        .arg(&store)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let base = server.base.clone();
    let answers: Vec<(usize, u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let base = base.clone();
                s.spawn(move || {
                    let (status, body) =
                        send(&base, &json!({"room": "Truth", "message": format!("t{i}")}));
                    (i, status, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    holder.wait().unwrap();
    let accepted: Vec<&(usize, u16, Value)> = answers.iter().filter(|a| a.1 == 202).collect();
    let refused: Vec<&(usize, u16, Value)> = answers.iter().filter(|a| a.1 == 503).collect();
    assert_eq!(accepted.len() + refused.len(), 6, "{answers:?}");
    assert!(
        !refused.is_empty(),
        "the lock outlasted the deadline: {answers:?}"
    );
    for (_, _, body) in &refused {
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not stored"),
            "{body}"
        );
    }
    wait_until("accepted ones delivered", Duration::from_secs(30), || {
        outbox_gauge(&server.base, "delivered") == accepted.len() as u64
    });
    let texts = room_messages(&emu.base, "Truth");
    for (i, status, _) in &answers {
        let there = texts.contains(&format!("t{i}"));
        assert_eq!(
            there,
            *status == 202,
            "t{i} answered {status}, delivered: {there}"
        );
    }
    let counts: u64 = ["queued", "in_flight", "dead"]
        .iter()
        .map(|s| outbox_gauge(&server.base, s))
        .sum();
    assert_eq!(counts, 0, "a refused message was stored anyway");
}

#[test]
fn retrying_a_message_in_flight_is_refused_unless_forced() {
    let emu = hipkit_bin!().emulator(&["--room", "Slow"]);
    fault(
        &emu.base,
        json!({"path": "/v2/room/Slow/notification", "action": {"delay": {"delay_ms": 20_000}}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    // HipChat's answer takes 20 s and the client waits 60 s: the message stays in flight.
    let server = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0", "--timeout", "60"],
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
        ],
        "delivery:",
    );
    let (_, body) = send(&server.base, &json!({"room": "Slow", "message": "slow"}));
    let id = body["id"].as_str().unwrap().to_owned();
    wait_until("in flight", Duration::from_secs(10), || {
        message(&server.base, &id)["state"] == "in_flight"
    });
    let retry = |extra: &[&str]| {
        let args: Vec<&str> = ["outbox", "retry", &id]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        hipkit_bin!().run(&args, &[("HIPKIT_STORE", store.to_str().unwrap())])
    };
    let refused = retry(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("being delivered"));
    let forced = retry(&["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}

#[test]
fn a_deleted_database_refuses_intake_and_health_says_so() {
    let emu = hipkit_bin!().emulator(&["--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    let server = serve(&emu.base, TOKEN, &store, &[]);
    let (status, _) = send(&server.base, &json!({"room": "Ops", "message": "kept"}));
    assert_eq!(status, 202);
    let size = metrics(&server.base);
    let bytes: u64 = size
        .lines()
        .find_map(|l| l.strip_prefix("hipkit_store_size_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("store size in /metrics");
    assert!(bytes > 0);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    let (status, body) = send(&server.base, &json!({"room": "Ops", "message": "lost?"}));
    assert_eq!(
        status, 503,
        "a message for a deleted database was accepted: {body}"
    );
    let api = BlockingApi::anonymous(&server.base);
    let (health, _, text) = api.send_text(api.request(Method::GET, "/healthz"));
    assert_eq!(health, 503);
    assert!(text.contains("store"), "{text}");
}

#[test]
fn a_damaged_database_is_refused_at_start_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("o.db");
    std::fs::write(&store, vec![0x5a; 8192]).unwrap();
    let out = hipkit_bin!().run(
        &["serve", "--listen", "127.0.0.1:0", "--backend", "outbox"],
        &[
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPCHAT_ENDPOINT", "http://127.0.0.1:9"),
            ("HIPCHAT_API_TOKEN", TOKEN),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hipkit outbox recover"), "{err}");
}
