//! The admin storage endpoints: export, import and erase behind the admin token, and a
//! running integration sees the new storage at its next call.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod common;

use common::*;
use hipkit_integrations::IntegrationsConfig;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_erase_need_the_admin_token() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(
        dir.path(),
        "keep.py",
        "def run_integration(query, storage):\n    storage[len(storage)] = query\n    \
         return repr(sorted(storage.items(), key=lambda kv: str(kv[0])))\n",
        0o644,
    );
    let stack = Stack::start(dir.path(), &db, &emu, IntegrationsConfig::default()).await;
    stack.reply_text(1, "/keep first").await;
    let http = reqwest::Client::new();
    let url = format!("{}/admin/storage/keep", stack.base);
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let resp = http.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{method}");
        let resp = http
            .request(method.clone(), &url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{method}");
    }
    assert_eq!(
        stack.admin().get("/admin/storage/keep").await,
        json!({"#0": "first"})
    );
    let resp = http
        .put(&url)
        .bearer_auth(ADMIN)
        .json(&json!({"#0": "imported", "name": {"nested": [1, 2]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        stack.reply_text(1, "/keep next").await,
        "[(0, 'imported'), (2, 'next'), ('name', {'nested': [1, 2]})]"
    );
    let listed = stack.admin().get("/admin/storage").await;
    assert_eq!(
        listed["integrations"][0],
        json!({"name": "keep", "keys": 3})
    );
    for (body, expected) in [("[1]", "JSON object"), ("{", "not JSON")] {
        let resp = http
            .put(&url)
            .bearer_auth(ADMIN)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let err: Value = resp.json().await.unwrap();
        assert!(err["error"]["message"].as_str().unwrap().contains(expected));
    }
    let bad = http
        .get(format!("{}/admin/storage/..%2Fetc", stack.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let erased = stack
        .admin()
        .call(reqwest::Method::DELETE, "/admin/storage/keep", None)
        .await
        .2;
    assert_eq!(erased, json!({"integration": "keep", "erased": 3}));
    assert_eq!(stack.reply_text(1, "/keep again").await, "[(0, 'again')]");
    stack.stop().await;
}
