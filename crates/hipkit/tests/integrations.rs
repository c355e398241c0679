//! `hipkit integrations` and `hipkit storage` as processes, against `hipkit emulator`: the
//! seed's command lines, its example integration, tokens, storage across a restart, the
//! admin CLI, and `serve` mounting the hooks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{BlockingApi, Proc, TOKEN, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

#[path = "../../hipkit-integrations/tests/fixtures/seed_example.rs"]
mod seed_example;

use seed_example::EXAMPLE;
const ADMIN: &str = "storage-admin-token";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
    std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
}

fn webhook(room: u64, message: &str) -> Value {
    json!({
        "event": "room_message",
        "item": {"message": {"date": "2026-12-02T10:11:12+00:00", "id": "m1", "type": "message",
                             "message": message, "mentions": [],
                             "from": {"id": 1, "name": "Alice", "mention_name": "alice",
                                      "links": {}, "version": "1"}},
                 "room": {"id": room, "name": "Build Room", "links": {}, "privacy": "public",
                          "is_archived": false, "version": "1"}},
        "oauth_client_id": "c0ffee",
        "webhook_id": 1
    })
}

/// POSTs a webhook to `url`: (status, JSON body or null).
fn post_hook(url: &str, room: u64, message: &str) -> (u16, Value) {
    let (status, _, answer) =
        BlockingApi::anonymous(url).call(Method::POST, "", Some(webhook(room, message)));
    (status, answer)
}

fn room_id(emu: &Proc) -> u64 {
    emu.api().get("/v2/room/Build%20Room")["id"]
        .as_u64()
        .unwrap()
}

/// `hipkit integrations ARGS` against `emu`, storage in `db`.
fn integrations(args: &[&str], emu: &Proc, db: &Path, extra: &[(&str, &str)]) -> Proc {
    let mut all = vec!["integrations"];
    all.extend_from_slice(args);
    if !args.contains(&"--listen") {
        // The seed's command line listens on every interface; tests stay on loopback.
        all.extend_from_slice(&["--listen", "127.0.0.1"]);
    }
    let mut env = vec![
        ("HIPCHAT_ENDPOINT", emu.base.as_str()),
        ("HIPKIT_STORE", db.to_str().unwrap()),
    ];
    env.extend_from_slice(extra);
    hipkit_bin!().spawn(&all, &env, "helpers:")
}

/// `hipkit integrations` in the seed's positional form with the example (and `extra`
/// scripts) in a new folder, tokens for `room`; the folder lives as long as the result.
fn seed_example_server(
    emu: &Proc,
    room: u64,
    extra: &[(&str, &str)],
    env: &[(&str, &str)],
) -> (Proc, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "example.py", EXAMPLE);
    for (name, text) in extra {
        write(dir.path(), name, text);
    }
    seed_example::write_upload_file();
    let db = dir.path().join("store.db");
    let global = format!("file_uploader:{TOKEN}");
    let scoped = format!("{room}:example:{TOKEN}");
    let srv = integrations(
        &["0", dir.path().to_str().unwrap(), &global, &scoped],
        emu,
        &db,
        env,
    );
    (srv, dir)
}

#[test]
fn the_seed_command_line_runs_the_seed_example() {
    let emu = hipkit_bin!().emulator(&[]);
    let room = room_id(&emu);
    let (srv, _dir) = seed_example_server(&emu, room, &[], &[]);
    assert!(srv.lines[1].contains("/example"), "{:?}", srv.lines);
    assert!(!srv.lines.concat().contains(TOKEN));
    assert!(
        srv.lines
            .iter()
            .any(|l| l.contains("auth:") && l.contains("NONE: webhooks are not authenticated")),
        "the banner says plainly what is not authenticated: {:?}",
        srv.lines
    );
    let (status, body) = post_hook(&srv.base, room, "/example from the seed");
    assert_eq!(status, 204, "{body}");
    let items = emu.api().history("Build Room");
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(
        items[0]["file"]["name"]
            .as_str()
            .unwrap()
            .contains("test.tmp")
    );
    assert_eq!(items[1]["from"], "example");
    assert_eq!(items[2]["message"], "from the seed");
    assert_eq!(items[3]["card"]["title"], "Test title");
}

#[test]
fn the_flag_form_logs_to_a_file_and_storage_survives_a_kill() {
    let emu = hipkit_bin!().emulator(&[]);
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    write(
        &scripts,
        "count.py",
        "def run_integration(query, token, storage, log):\n    \
         log.info('counting %s with %d' % (query, len(token)))\n    \
         storage[len(storage)] = query\n    return '%d: %s' % (len(storage), storage[0])\n",
    );
    let db = dir.path().join("store.db");
    let log = dir.path().join("integrations.log");
    let args = [
        "-p",
        "0",
        "-i",
        scripts.to_str().unwrap(),
        "-t",
        "count:secret-count-token",
        "-l",
        log.to_str().unwrap(),
    ];
    let mut srv = integrations(&args, &emu, &db, &[]);
    let url = format!("{}/hooks/hipchat", srv.base);
    assert_eq!(post_hook(&url, 1, "/count one").1["message"], "1: one");
    srv.kill();
    let srv = integrations(&args, &emu, &db, &[]);
    let url = format!("{}/", srv.base);
    assert_eq!(post_hook(&url, 1, "/count two").1["message"], "2: one");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("counting two with 18"), "{text}");
    assert!(!text.contains("secret-count-token"), "{text}");
}

#[test]
fn bad_arguments_are_usage_errors_that_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, expected) in [
        (
            vec!["integrations", "notaport", d],
            "Usage: hipkit integrations",
        ),
        (
            vec!["integrations", "80", d, "-p", "81"],
            "cannot be used with",
        ),
        (
            vec!["integrations", "0", d, "echo:a", "7:echo:"],
            "`7:echo:…`: the token is empty",
        ),
        (
            vec!["integrations", "0", d, "echo:a", "echo:b"],
            "duplicate token for `echo`",
        ),
        (
            vec!["integrations", "0", d, "123:G", "123:echo:X"],
            "`123` is both a global token name and the room id",
        ),
        (
            vec!["integrations", "0", "/nonexistent/dir"],
            "/nonexistent/dir",
        ),
    ] {
        let out = hipkit_bin!().run(&args, &[("HIPKIT_STORE", &format!("{d}/s.db"))]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("echo:a") && !stderr.contains(":X"),
            "{stderr}"
        );
    }
}

#[test]
fn hipkit_storage_exports_imports_and_erases_with_the_admin_token() {
    let emu = hipkit_bin!().emulator(&[]);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "keep.py",
        "def run_integration(query, storage):\n    storage[query] = len(storage)\n    \
         return str(sorted(storage))\n",
    );
    let db = dir.path().join("store.db");
    let srv = integrations(
        &["0", dir.path().to_str().unwrap()],
        &emu,
        &db,
        &[("HIPKIT_SERVE__API_TOKEN", ADMIN)],
    );
    post_hook(&srv.base, 1, "/keep a");
    let file = dir.path().join("export.json");
    let storage = |args: &[&str], token: Option<&str>| {
        let mut all = vec!["storage", "--url", srv.base.as_str()];
        all.extend_from_slice(args);
        let env: Vec<(&str, &str)> = token
            .map(|t| vec![("HIPKIT_SERVE__API_TOKEN", t)])
            .unwrap_or_default();
        hipkit_bin!().run(&all, &env)
    };
    let out = storage(
        &["export", "keep", "-o", file.to_str().unwrap()],
        Some(ADMIN),
    );
    assert!(out.status.success(), "{out:?}");
    let exported: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(exported, json!({"a": 0}));
    let refused = storage(&["export", "keep"], Some("wrong"));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    assert_eq!(storage(&["erase", "keep"], None).status.code(), Some(2));
    std::fs::write(&file, r#"{"x": 1, "y": 2}"#).unwrap();
    let out = storage(&["import", "keep", file.to_str().unwrap()], Some(ADMIN));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        post_hook(&srv.base, 1, "/keep z").1["message"],
        "['x', 'y', 'z']"
    );
    let out = storage(&["erase", "keep"], Some(ADMIN));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"erased\": 3"));
    assert_eq!(post_hook(&srv.base, 1, "/keep q").1["message"], "['q']");
}

#[test]
fn serve_mounts_the_hooks_when_a_folder_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ping.py",
        "def run_integration(query):\n    return {'message': 'pong ' + query, 'color': 'green'}\n",
    );
    let db = dir.path().join("serve.db");
    let srv = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_STORE", db.to_str().unwrap()),
            ("HIPKIT_INTEGRATIONS__PATH", dir.path().to_str().unwrap()),
            ("HIPKIT_INTEGRATIONS__ROOT_HOOK", "true"),
            ("HIPKIT_EMULATOR__LISTEN", "127.0.0.1:0"),
        ],
        "helpers:",
    );
    for path in ["/hooks/hipchat", "/"] {
        let (status, body) = post_hook(&format!("{}{path}", srv.base), 1, "/ping x");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"], "pong x");
    }
    // No admin token configured: the storage endpoints refuse instead of being open.
    let (status, _, _) =
        BlockingApi::anonymous(&srv.base).call(Method::GET, "/admin/storage/ping", None);
    assert_eq!(status, 403);
}

#[test]
fn a_webhook_fired_by_the_emulator_runs_the_seed_example_end_to_end() {
    let secret = "e2e-webhook-secret";
    let emu = hipkit_bin!().spawn(
        &["emulator", "--listen", "127.0.0.1:0", "--token", TOKEN],
        &[("HIPKIT_EMULATOR_WEBHOOK_SECRET", secret)],
        "web UI:",
    );
    let room = room_id(&emu);
    let greet = "def run_integration(query, notification):\n    \
         return 'hello %s, from %s' % (query, notification.item.message.sender.mention_name)\n";
    let (srv, _dir) = seed_example_server(
        &emu,
        room,
        &[("greet.py", greet)],
        &[
            ("HIPKIT_INTEGRATIONS__JWT_SECRET", secret),
            ("HIPKIT_INTEGRATIONS__JWT_ISSUER", "hipkit-emulator"),
        ],
    );
    for name in ["example", "greet"] {
        let status = emu.api().post(
            &format!("/v2/room/{room}/webhook"),
            &json!({"url": format!("{}/hooks/hipchat", srv.base), "event": "room_message",
                    "pattern": format!("^/{name}"), "name": name, "authentication": "jwt"}),
        );
        assert_eq!(status, 201);
    }
    let emulator = emu.api();
    let say = |text: &str| {
        emulator.post(
            &format!("/v2/room/{room}/message"),
            &json!({"message": text}),
        )
    };
    assert_eq!(say("/example via the webhook"), 201);
    wait_until(
        "the example's four effects",
        Duration::from_secs(20),
        || emu.api().history("Build Room").len() == 5,
    );
    assert_eq!(say("/greet world"), 201);
    wait_until("the reply", Duration::from_secs(20), || {
        emu.api().history("Build Room").len() == 7
    });
    let items = emu.api().history("Build Room");
    let texts: Vec<&str> = items
        .iter()
        .map(|i| i["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(texts[0], "/example via the webhook");
    assert!(items[1]["file"].is_object(), "{:?}", items[1]);
    assert_eq!(
        &texts[2..5],
        ["via the webhook", "via the webhook", "Test message"]
    );
    assert_eq!(items[4]["card"]["title"], "Test title");
    assert_eq!(texts[6], "hello world, from admin");
    assert_eq!(items[6]["from"], "greet");
}
