//! Issue 20's guards against a hostile web page and a careless sender, over loopback with
//! real processes: DNS rebinding (a foreign `Host` is refused by `serve`, `integrations`
//! and the emulator), cross-site posts to the hooks, and the relay closed with the API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{BlockingApi, Proc, assert_envelope, hipkit_bin};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;

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
        &["integrations", "0", dir.path().to_str().unwrap()],
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

