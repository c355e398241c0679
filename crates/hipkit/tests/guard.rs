//! Issue 20's guards against a hostile web page and a careless sender, over loopback with
//! real processes: DNS rebinding (a foreign `Host` is refused by `serve`, `integrations`
//! and the emulator), cross-site posts to the hooks, and the relay closed with the API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{BlockingApi, Proc, TOKEN, assert_envelope, hipkit_bin};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;

const API_TOKEN: &str = "api-token-guard-4410";

/// `hipkit serve` with its built-in emulator, `config` as its hipkit.toml, storage in `dir`.
fn serve(dir: &Path, config: &str) -> Proc {
    let cfg = dir.join("hipkit.toml");
    std::fs::write(&cfg, config).unwrap();
    let store = dir.join("hipkit.db");
    hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", cfg.to_str().unwrap()),
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
        ],
        "emulator token",
    )
}

/// The built-in emulator's URL from `serve`'s banner.
fn builtin_emulator(serve: &Proc) -> String {
    serve
        .lines
        .iter()
        .find(|l| l.contains("built-in emulator"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .expect("emulator URL printed")
        .trim_end_matches('/')
        .to_owned()
}

/// `method base+path` with `headers` (a JSON `body` when given): status and JSON answer.
fn call(
    base: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> (u16, Value) {
    let api = BlockingApi::anonymous(base);
    let mut req = api.request(method, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some((content_type, body)) = body {
        req = req.header("content-type", content_type).body(body);
    }
    let (status, _, answer) = api.send(req);
    (status, answer)
}

/// `host:port` of a base URL.
fn authority(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// A foreign name is refused with the envelope; the real address, `localhost` with the
/// port and configured names are served.
fn assert_only_own_hosts(base: &str, path: &str, configured: Option<&str>) {
    let port = authority(base).rsplit(':').next().unwrap();
    for foreign in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        let (status, answer) = call(base, Method::GET, path, &[("host", &foreign)], None);
        assert_eq!(status, 421, "{base}{path} with Host {foreign}: {answer}");
        assert_envelope(&answer, 421, "does not answer to the host");
    }
    let localhost = format!("localhost:{port}");
    let mut own = vec![authority(base), localhost.as_str()];
    own.extend(configured);
    for name in own {
        let (status, answer) = call(base, Method::GET, path, &[("host", name)], None);
        assert!(
            status < 400,
            "{base}{path} with Host {name}: {status} {answer}"
        );
    }
}

#[test]
fn serve_and_its_builtin_emulator_refuse_a_foreign_host() {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(dir.path(), "[serve]\nallowed_hosts = [\"hipkit.test\"]\n");
    assert_only_own_hosts(&srv.base, "/healthz", Some("hipkit.test"));
    let emulator = builtin_emulator(&srv);
    assert_only_own_hosts(&emulator, "/tokens", None);
}

#[test]
fn the_standalone_emulator_ui_refuses_a_foreign_host() {
    let emu = hipkit_bin!().emulator(&[]);
    assert_only_own_hosts(&emu.base, "/tokens", None);
    // Minting a token through a rebound name never reaches the handler.
    let port = authority(&emu.base).rsplit(':').next().unwrap();
    let (status, answer) = call(
        &emu.base,
        Method::POST,
        "/tokens",
        &[("host", &format!("rebound.example:{port}"))],
        Some((
            "application/x-www-form-urlencoded",
            "token=minted&scopes=admin_room".to_owned(),
        )),
    );
    assert_eq!(status, 421, "{answer}");
    assert_envelope(&answer, 421, "rebound.example");
}

#[test]
fn integrations_refuse_a_foreign_host() {
    let emu = hipkit_bin!().emulator(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let srv = hipkit_bin!().spawn(
        &[
            "integrations",
            "0",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1",
        ],
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPKIT_STORE", db.to_str().unwrap()),
        ],
        "helpers:",
    );
    let base = srv.base.trim_end_matches('/').to_owned();
    let base = base.split("/hooks").next().unwrap();
    assert_only_own_hosts(base, "/healthz", None);
}

/// A finished build as Buildbot's HttpStatusPush sends it.
fn build(id: u64) -> String {
    json!({"buildid": id, "number": id, "builderid": 79, "buildrequestid": 12,
           "complete": true, "complete_at": 10_000_009, "results": 0,
           "state_string": "build successful", "properties": {},
           "url": "http://buildbot:8010/#/builders/79/builds/8",
           "builder": {"builderid": 79, "name": "Builder0", "tags": []},
           "buildset": {"bsid": 99, "sourcestamps": []}})
    .to_string()
}

/// A `[[reporters.http]]` pushing to a port nothing listens on (queued, never delivered).
const HTTP_REPORTER: &str =
    "[[reporters.http]]\nname = \"dash\"\nserver_url = \"http://127.0.0.1:9/hook\"\n";

#[test]
fn hooks_refuse_forms_and_cross_site_posts() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{HTTP_REPORTER}\n[integrations]\npath = {:?}\n", dir.path());
    let srv = serve(dir.path(), &config);
    let own = authority(&srv.base).to_owned();
    let own_origin = format!("http://{own}");
    for path in ["/hooks/buildbot", "/hooks/hipchat"] {
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let (status, answer) = call(
                &srv.base,
                Method::POST,
                path,
                &[],
                Some((content_type, build(1))),
            );
            assert_eq!(status, 415, "{path} as {content_type}: {answer}");
            assert_envelope(&answer, 415, "application/json");
        }
        for headers in [
            vec![("sec-fetch-site", "cross-site")],
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
        ] {
            let (status, answer) = call(
                &srv.base,
                Method::POST,
                path,
                &headers,
                Some(("application/json", build(1))),
            );
            assert_eq!(status, 403, "{path} with {headers:?}: {answer}");
            assert_envelope(&answer, 403, "another site");
        }
    }
    let (status, answer) = call(
        &srv.base,
        Method::POST,
        "/hooks/buildbot",
        &[("origin", &own_origin), ("sec-fetch-site", "same-origin")],
        Some(("application/json; charset=utf-8", build(1))),
    );
    assert_eq!(status, 202, "the relay's own sender gets through: {answer}");
}

#[test]
fn with_an_api_token_the_relay_takes_no_anonymous_builds() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[serve]\napi_token = \"{API_TOKEN}\"\n\n{HTTP_REPORTER}");
    let srv = serve(dir.path(), &config);
    let body = || Some(("application/json", build(2)));
    let (status, answer) = call(&srv.base, Method::POST, "/hooks/buildbot", &[], body());
    assert_eq!(status, 401, "{answer}");
    assert_envelope(&answer, 401, "API token");
    let wrong = format!("Bearer {TOKEN}");
    let (status, _) = call(
        &srv.base,
        Method::POST,
        "/hooks/buildbot",
        &[("authorization", &wrong)],
        body(),
    );
    assert_eq!(status, 401);
    let right = format!("Bearer {API_TOKEN}");
    let (status, answer) = call(
        &srv.base,
        Method::POST,
        "/hooks/buildbot",
        &[("authorization", &right)],
        body(),
    );
    assert_eq!(status, 202, "{answer}");

    // With the relay's own secret configured, it or the API token is accepted.
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{config}\n[reporters.relay]\nsecret = \"relay-secret-1\"\n");
    let srv = serve(dir.path(), &config);
    let (status, _) = call(&srv.base, Method::POST, "/hooks/buildbot", &[], body());
    assert_eq!(status, 401);
    for header in [
        ("x-hipkit-secret", "relay-secret-1"),
        ("authorization", &right),
    ] {
        let (status, answer) = call(
            &srv.base,
            Method::POST,
            "/hooks/buildbot",
            &[header],
            body(),
        );
        assert_eq!(status, 202, "{answer}");
    }
}

/// Every record in the outbox of the `serve` whose store is in `dir`.
fn outbox(dir: &Path) -> Vec<Value> {
    hipkit_bin!().outbox_records(&dir.join("hipkit.db"))
}

fn relay(base: &str, body: String, headers: &[(&str, &str)]) -> (u16, Value) {
    call(
        base,
        Method::POST,
        "/hooks/buildbot",
        headers,
        Some(("application/json", body)),
    )
}

/// The ids the relay answered with.
fn ids(answer: &Value) -> Vec<String> {
    let queued = answer["queued"].as_array().unwrap();
    queued
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_bad_report_queues_nothing_and_a_resent_build_is_posted_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{HTTP_REPORTER}\n[[reporters.hipchat]]\nbuilder_room_map = {{ Builder0 = \"Build Room\" }}\n"
    );
    let srv = serve(dir.path(), &config);
    // The HipChat message would pass 10,000 characters: nothing is queued, the HTTP push
    // neither.
    let mut long: Value = serde_json::from_str(&build(5)).unwrap();
    long["url"] = json!(format!("http://buildbot/{}", "x".repeat(10_000)));
    let (status, answer) = relay(&srv.base, long.to_string(), &[]);
    assert_eq!(status, 400, "{answer}");
    assert_envelope(&answer, 400, "nothing queued");
    assert_eq!(outbox(dir.path()), Vec::<Value>::new());

    // A resent build (same id and event) is the same reports, not new ones.
    let (status, first) = relay(&srv.base, build(6), &[]);
    assert_eq!(status, 202, "{first}");
    assert_eq!(ids(&first).len(), 2, "{first}");
    let (status, again) = relay(&srv.base, build(6), &[]);
    assert_eq!(status, 202, "{again}");
    assert_eq!(ids(&again), ids(&first));
    // An Idempotency-Key header names the sending instead.
    let key = [("idempotency-key", "bb-7-finished")];
    let (_, keyed) = relay(&srv.base, build(7), &key);
    let (_, resent) = relay(&srv.base, build(7), &key);
    assert_eq!(ids(&resent), ids(&keyed));
    assert_eq!(outbox(dir.path()).len(), 4);
}

#[test]
fn builds_of_two_masters_with_one_id_are_both_posted_and_a_reused_key_is_a_422() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{HTTP_REPORTER}\n[[reporters.hipchat]]\nbuilder_room_map = {{ Builder0 = \"Build Room\" }}\n"
    );
    let srv = serve(dir.path(), &config);
    // Two masters both number their builds from 1: the same `buildid` with another content is
    // another build (before: the HipChat message was queued, then the push collided with the
    // first master's key and the relay answered 503 with half the build queued).
    let (status, first) = relay(&srv.base, build(1), &[]);
    assert_eq!(status, 202, "{first}");
    let mut other: Value = serde_json::from_str(&build(1)).unwrap();
    other["url"] = json!("http://other-master:8010/#/builders/3/builds/1");
    let (status, second) = relay(&srv.base, other.to_string(), &[]);
    assert_eq!(status, 202, "{second}");
    assert_eq!(ids(&second).len(), 2, "{second}");
    assert!(ids(&second).iter().all(|id| !ids(&first).contains(id)));
    assert_eq!(outbox(dir.path()).len(), 4);

    // One Idempotency-Key for two different builds is the sender's mistake: a 422, and
    // nothing new is queued.
    let key = [("idempotency-key", "bb-9")];
    let (status, keyed) = relay(&srv.base, build(9), &key);
    assert_eq!(status, 202, "{keyed}");
    let (status, reused) = relay(&srv.base, build(10), &key);
    assert_eq!(status, 422, "{reused}");
    assert_envelope(&reused, 422, "already used for a different build");
    assert_eq!(outbox(dir.path()).len(), 6);
    // The key names no destination: a push URL may carry a secret.
    let shown = reused.to_string();
    assert!(
        !shown.contains("buildbot-relay/key:bb-9/dash/http"),
        "{shown}"
    );
}
