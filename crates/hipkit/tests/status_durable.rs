//! Build reports that never get lost: HTTP pushes and own-token HipChat messages queued by
//! `POST /hooks/buildbot` of a real `hipkit serve` live in its SQLite outbox (without a
//! secret), survive a restart while the receiver is down, and reach it afterwards; a report
//! whose reporter left the configuration is a dead letter that `hipkit outbox list` explains.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{BlockingApi, Proc, TOKEN, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const OWN_TOKEN: &str = "own-hipchat-secret-7731";
const PASSWORD: &str = "basic-secret-9902";
const HEADER_SECRET: &str = "header-secret-5514";
/// base64 of `bb:basic-secret-9902`, as it would travel in `Authorization`.
const BASIC: &str = "YmI6YmFzaWMtc2VjcmV0LTk5MDI";
const RELAY_SECRET: &str = "relay-secret-3306";
/// Header values a deny-list of secret-looking names missed (issue 20.15).
const OTHER_HEADER_SECRETS: [&str; 3] = ["cred-secret-1", "private-secret-2", "pass-secret-3"];
/// A Slack-style webhook secret in the receiver's URL path.
const PATH_SECRET: &str = "path-secret-4471";

/// The build, as Buildbot's HttpStatusPush sends it (Python's spacing).
const BUILD: &str = r#"{"buildid": 21, "number": 8, "builderid": 79, "buildrequestid": 12, "complete": true, "complete_at": 10000009, "results": 2, "state_string": "failed", "properties": {"branch": ["main", "Build"]}, "url": "http://buildbot:8010/#/builders/79/builds/8", "builder": {"builderid": 79, "name": "Builder0", "tags": []}, "buildset": {"bsid": 99, "sourcestamps": []}, "parentbuild": null, "parentbuilder": null}"#;

/// The configuration: an own-token HipChat reporter and two HTTP reporters (`legacy` only
/// when `with_legacy`), all HTTP pushes to `receiver`.
fn config(emulator: &str, receiver: SocketAddr, with_legacy: bool) -> String {
    let mut toml = format!(
        r#"
[[reporters.hipchat]]
name = "own"
auth_token = "{OWN_TOKEN}"
endpoint = "{emulator}"
verify = false
builder_room_map = {{ Builder0 = "Builds" }}

[[reporters.http]]
name = "dash"
server_url = "http://{receiver}/hook/{PATH_SECRET}"
auth = {{ basic = ["bb", "{PASSWORD}"] }}
headers = {{ X-Api-Key = "{HEADER_SECRET}", X-Request-Id = "visible", X-Credential = "{c}", Private-Token = "{p}", X-Pass = "{x}" }}
debug = true

[reporters.relay]
secret = "{RELAY_SECRET}"
"#,
        c = OTHER_HEADER_SECRETS[0],
        p = OTHER_HEADER_SECRETS[1],
        x = OTHER_HEADER_SECRETS[2],
    );
    if with_legacy {
        toml.push_str(&format!(
            "\n[[reporters.http]]\nname = \"legacy\"\nserver_url = \"http://{receiver}/legacy\"\n"
        ));
    }
    toml
}

/// `hipkit serve` on `store` with `config`, its log (at info) appended to `log`.
fn serve(dir: &Path, config: &str, emulator: &str, log: &Path) -> Proc {
    let cfg = dir.join("hipkit.toml");
    std::fs::write(&cfg, config).expect("write config");
    let store = dir.join("hipkit.db");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    hipkit_bin!().spawn_logging(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", cfg.to_str().expect("utf-8")),
            ("HIPCHAT_ENDPOINT", emulator),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().expect("utf-8")),
            ("HIPKIT_LOG", "info"),
            ("HIPKIT_DELIVERY__MAX_ATTEMPTS", "10000"),
            ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "20"),
            ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "100"),
        ],
        "delivery:",
        Stdio::from(log),
    )
}

/// The outbox as `hipkit outbox list --json` prints it.
fn outbox(dir: &Path) -> Vec<Value> {
    hipkit_bin!().outbox_records(&dir.join("hipkit.db"))
}

/// The record whose destination ends with `suffix`.
fn record(dir: &Path, suffix: &str) -> Value {
    outbox(dir)
        .into_iter()
        .find(|r| {
            r["destination"]
                .as_str()
                .is_some_and(|d| d.ends_with(suffix))
        })
        .unwrap_or_else(|| panic!("no record to {suffix}"))
}

/// An HTTP receiver on `addr` (in a thread of its own), answering 200 and keeping each body.
fn receiver(addr: SocketAddr) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let listener = std::net::TcpListener::bind(addr).expect("the receiver's port is free again");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(
                &format!("/hook/{PATH_SECRET}"),
                axum::routing::post(move |body: axum::body::Bytes| async move {
                    seen.lock().expect("bodies").push(body.to_vec());
                    "ok"
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await
        })
    });
    bodies
}

fn relay(serve: &str, body: &str) -> Value {
    let api = BlockingApi::anonymous(serve);
    let req = api
        .request(Method::POST, "/hooks/buildbot")
        .header("X-Hipkit-Secret", RELAY_SECRET)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    let (status, _, answer) = api.send(req);
    assert_eq!(status, 202, "{answer}");
    answer
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn reports_survive_a_restart_without_a_secret_on_disk_or_in_the_log() {
    let emu = hipkit_bin!().emulator(&["--room", "Builds", "--token", OWN_TOKEN]);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("serve.log");
    // A port with nobody listening: the receiver is down.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");

    let mut first = serve(dir.path(), &config(&emu.base, addr, true), &emu.base, &log);
    let answer = relay(&first.base, BUILD);
    let states: Vec<&str> = answer["queued"]
        .as_array()
        .expect("queued")
        .iter()
        .map(|q| q["state"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(states, ["queued"; 3], "{answer}");
    wait_until("the push failed twice", Duration::from_secs(20), || {
        record(dir.path(), "/hook/<redacted> via dash")["attempts"].as_i64() >= Some(2)
    });
    let failing = record(dir.path(), "/hook/<redacted> via dash");
    assert_eq!(failing["state"], "queued");
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cannot reach the receiver")),
        "{failing}"
    );
    wait_until("the own-token message", Duration::from_secs(20), || {
        emu.api().get("/v2/room/Builds/history")["items"]
            .as_array()
            .is_some_and(|items| items.len() == 1)
    });
    first.kill();

    let mut bytes = std::fs::read(dir.path().join("hipkit.db")).expect("database");
    bytes.extend(std::fs::read(dir.path().join("hipkit.db-wal")).unwrap_or_default());
    assert!(
        contains(&bytes, "X-Request-Id"),
        "the reports are in these bytes"
    );
    let others = OTHER_HEADER_SECRETS.into_iter().chain([PATH_SECRET]);
    for secret in [OWN_TOKEN, PASSWORD, HEADER_SECRET, BASIC]
        .into_iter()
        .chain(others)
    {
        assert!(!contains(&bytes, secret), "{secret} reached the database");
    }

    // The receiver comes up; `legacy` is gone from the configuration.
    let bodies = receiver(addr);
    let _second = serve(dir.path(), &config(&emu.base, addr, false), &emu.base, &log);
    wait_until(
        "the push after the restart",
        Duration::from_secs(20),
        || record(dir.path(), "/hook/<redacted> via dash")["state"] == "delivered",
    );
    assert_eq!(
        *bodies.lock().expect("bodies"),
        [BUILD.as_bytes().to_vec()],
        "delivered once, byte for byte"
    );
    wait_until("the legacy push is dead", Duration::from_secs(20), || {
        record(dir.path(), "/legacy via legacy")["state"] == "dead"
    });
    let shown = serde_json::to_string(&outbox(dir.path())).expect("json");
    assert!(!shown.contains(PATH_SECRET), "{shown}");
    let store = dir.path().join("hipkit.db");
    let listed = hipkit_bin!().run(
        &["outbox", "list", "--state", "dead"],
        &[("HIPKIT_STORE", store.to_str().expect("utf-8"))],
    );
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table.contains(
            "cannot deliver through `legacy`: no reporter of this name is configured any more"
        ),
        "{table}"
    );

    let log = std::fs::read(&log).expect("log");
    assert!(contains(&log, "HTTP push"), "debug logs the pushes");
    assert!(contains(&log, "Authorization: <redacted>"));
    let others = OTHER_HEADER_SECRETS.into_iter().chain([PATH_SECRET]);
    for secret in [OWN_TOKEN, PASSWORD, HEADER_SECRET, BASIC, TOKEN]
        .into_iter()
        .chain(others)
    {
        assert!(!contains(&log, secret), "{secret} reached the log");
    }
}
