//! Build status end to end: Buildbot-shaped JSON into `POST /hooks/buildbot` of a real
//! `hipkit serve` (and into `hipkit report`), out as messages in a real `hipkit emulator`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{BlockingApi, Hipkit, Proc, TOKEN, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const URL: &str = "http://buildbot:8010/#/builders/79/builds/7";

/// A Buildbot 4.x HttpStatusPush body for Builder0's build 7.
fn build(complete: bool, results: Option<i64>) -> Value {
    json!({"buildid": 20, "number": 7, "builderid": 79, "buildrequestid": 11, "workerid": 13,
        "masterid": 92, "started_at": 10000001, "complete_at": if complete { json!(10000005) } else { json!(null) },
        "complete": complete, "locks_duration_s": 0, "state_string": "build failed",
        "results": results, "properties": {"branch": ["main", "Build"]}, "url": URL,
        "builder": {"builderid": 79, "name": "Builder0", "masterids": [], "description": null,
            "description_format": null, "description_html": null, "projectid": null, "tags": []},
        "buildrequest": {"buildrequestid": 11, "buildsetid": 98, "builderid": 79},
        "buildset": {"bsid": 98, "sourcestamps": [{"ssid": 234, "branch": "master"}]},
        "parentbuild": null, "parentbuilder": null})
}

const REPORTERS: &str = r#"
[[reporters.hipchat]]
builder_room_map = { Builder0 = "Builds" }
builder_user_map = { Builder0 = "dev@example.com" }

[reporters.relay]
secret = "relay-s3cret"
"#;

/// Writes `hipkit.toml` with `body` into `dir`.
fn config(dir: &Path, body: &str) -> String {
    let path = dir.join("hipkit.toml");
    std::fs::write(&path, body).expect("write config");
    path.to_str().expect("utf-8").to_owned()
}

fn emulator() -> Proc {
    hipkit_bin!().emulator(&["--room", "Builds", "--user", "dev@example.com"])
}

/// The message texts of a history answer at `path`.
fn texts(emulator: &str, path: &str) -> Vec<String> {
    BlockingApi::at(emulator)
        .items(path)
        .iter()
        .map(|i| i["message"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Message texts in a room (HipChat's `recent`: enough for a handful).
fn room(emulator: &str, name: &str) -> Vec<String> {
    texts(emulator, &format!("/v2/room/{name}/history"))
}

/// Private messages with the user (newest last).
fn private(emulator: &str, user: &str) -> Vec<String> {
    texts(emulator, &format!("/v2/user/{user}/history/latest"))
}

fn relay(serve: &str, body: &[u8], secret: Option<&str>) -> (u16, Value) {
    let api = BlockingApi::anonymous(serve);
    let mut req = api
        .request(Method::POST, "/hooks/buildbot")
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(s) = secret {
        req = req.header("X-Hipkit-Secret", s);
    }
    let (status, _, answer) = api.send(req);
    (status, answer)
}

#[test]
fn the_relay_turns_buildbot_json_into_room_and_user_messages() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), REPORTERS);
    let store = dir.path().join("hipkit.db");
    let serve = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", cfg.as_str()),
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
        ],
        "delivery:",
    );
    let started = serde_json::to_vec(&build(false, None)).unwrap();
    let finished = serde_json::to_vec(&build(true, Some(2))).unwrap();

    // Refused before anything is queued.
    assert_eq!(relay(&serve.base, &started, None).0, 401);
    assert_eq!(relay(&serve.base, &started, Some("wrong")).0, 401);
    let (status, body) = relay(&serve.base, b"{not json", Some("relay-s3cret"));
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let (status, body) = relay(
        &serve.base,
        br#"{"builder": {"name": 5}, "complete": true}"#,
        Some("relay-s3cret"),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "builder.name: must be a string");
    let mut wrong = build(true, Some(2));
    wrong["results"] = json!("failure");
    let (status, body) = relay(
        &serve.base,
        &serde_json::to_vec(&wrong).unwrap(),
        Some("relay-s3cret"),
    );
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (400, Some("results: must be an integer or null"))
    );

    let (status, body) = relay(&serve.base, &started, Some("relay-s3cret"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["event"], "started");
    let to: Vec<_> = body["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["to"].clone())
        .collect();
    assert_eq!(to, [json!("user:dev@example.com"), json!("room:Builds")]);
    assert_eq!(
        body["queued"][0]["state"], "queued",
        "durably queued in the outbox"
    );
    // A build runs between its two events: the finished one is sent once the started one
    // arrived (the outbox delivers separate requests concurrently; a build's own order
    // across destinations is issue 25's point 3).
    wait_until("the started messages", Duration::from_secs(20), || {
        room(&emu.base, "Builds").len() == 1 && private(&emu.base, "dev@example.com").len() == 1
    });
    let (status, _) = relay(&serve.base, &finished, Some("relay-s3cret"));
    assert_eq!(status, 202);

    let expected = [
        format!("Buildbot started build Builder0 here: {URL}"),
        format!("Buildbot finished build Builder0 with result failure here: {URL}"),
    ];
    wait_until("both room messages", Duration::from_secs(20), || {
        room(&emu.base, "Builds").len() == 2 && private(&emu.base, "dev@example.com").len() == 2
    });
    assert_eq!(
        room(&emu.base, "Builds"),
        expected,
        "nothing from the bad requests"
    );
    assert_eq!(private(&emu.base, "dev@example.com"), expected);
}

/// Runs `hipkit report ARGS` in `dir` against `emulator`, with `stdin`.
fn report(dir: &Path, emulator: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = hipkit_bin!().command(
        &["report"],
        &[("HIPCHAT_ENDPOINT", emulator), ("HIPCHAT_API_TOKEN", TOKEN)],
    );
    cmd.args(args)
        .args(["--attempts", "2", "--max-wait", "20ms"])
        .current_dir(dir);
    Hipkit::run_with_stdin(cmd, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn hipkit_report_exit_codes_and_dry_run() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let with_http = format!(
        "{REPORTERS}\n[[reporters.http]]\nserver_url = \"http://127.0.0.1:9/hook\"\nauth = {{ bearer = \"http-bearer-secret\" }}\n"
    );
    config(dir.path(), &with_http);
    let finished = serde_json::to_vec(&build(true, Some(0))).unwrap();
    let args = ["--event", "finished", "--build", "-"];

    let dry = report(
        dir.path(),
        &emu.base,
        &[&args[..], &["--dry-run"]].concat(),
        &finished,
    );
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(
        out.contains(&format!(
            "POST {}/v2/user/dev@example.com/message?auth_token=<redacted>",
            emu.base
        )),
        "{out}"
    );
    assert!(out.contains(&format!(
        "POST {}/v2/room/Builds/notification?auth_token=<redacted>",
        emu.base
    )));
    assert!(out.contains("with result success here"));
    assert!(
        !out.contains(TOKEN) && !text(&dry.stderr).contains(TOKEN),
        "token redacted"
    );
    assert!(out.find("/v2/user/") < out.find("/v2/room/"), "user first");
    assert!(
        room(&emu.base, "Builds").is_empty(),
        "a dry run sends nothing"
    );
    assert!(
        out.contains(
            "POST http://127.0.0.1:9/hook\nContent-Type: application/json\nAuthorization: <redacted>"
        ),
        "{out}"
    );
    assert!(!out.contains("http-bearer-secret"));
    config(dir.path(), REPORTERS);

    let sent = report(dir.path(), &emu.base, &args, &finished);
    assert_eq!(sent.status.code(), Some(0), "{}", text(&sent.stderr));
    assert!(sent.stdout.is_empty(), "quiet on success");
    assert_eq!(room(&emu.base, "Builds").len(), 1);
    let file = dir.path().join("build.json");
    std::fs::write(&file, &finished).unwrap();
    let verbose = report(
        dir.path(),
        &emu.base,
        &[
            "--event",
            "new",
            "--build",
            file.to_str().unwrap(),
            "--verbose",
        ],
        b"",
    );
    assert_eq!(verbose.status.code(), Some(0));
    assert!(text(&verbose.stdout).contains("-> room:Builds"));
    assert_eq!(
        room(&emu.base, "Builds")[1],
        format!("Buildbot started build Builder0 here: {URL}")
    );

    // Bad build JSON: 2.
    let bad = report(dir.path(), &emu.base, &args, br#"{"builder": {}}"#);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("builder.name: is missing"));
    assert_eq!(
        report(dir.path(), &emu.base, &args, b"nope").status.code(),
        Some(2)
    );

    // Bad config, Buildbot's wording: 2.
    let bad_config = |toml: &str, wording: &str| {
        config(dir.path(), toml);
        let out = report(dir.path(), &emu.base, &args, &finished);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(wording), "{}", text(&out.stderr));
    };
    bad_config(
        "[[reporters.hipchat]]\nbuilder_room_map = \"Builds\"\n",
        "[[reporters.hipchat]] #1: builder_room_map must be a dict",
    );
    bad_config(
        "[[reporters.hipchat]]\nauth_token = 42\n",
        "auth_token must be a string",
    );
    bad_config("[[reporters.hipchat]]\nmode = [\"all\"]\n", "mode");

    // A refusing destination (no such room): 1, the error printed.
    config(
        dir.path(),
        "[[reporters.hipchat]]\nbuilder_room_map = { Builder0 = \"Nowhere\" }\n",
    );
    let refused = report(dir.path(), &emu.base, &args, &finished);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("room:Nowhere"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!text(&refused.stderr).contains(TOKEN));

    // An unreachable server, after the configured attempts: 1.
    config(
        dir.path(),
        "[[reporters.hipchat]]\nbuilder_room_map = { Builder0 = \"Builds\" }\n",
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = report(dir.path(), &dead, &args, &finished);
    assert_eq!(
        unreachable.status.code(),
        Some(1),
        "{}",
        text(&unreachable.stderr)
    );
}

#[test]
fn hipkit_report_has_its_own_short_retry_budget() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        "[[reporters.hipchat]]\nbuilder_room_map = { Builder0 = \"Builds\" }\n",
    );
    let path = "/v2/room/Builds/notification";
    BlockingApi::at(&emu.base)
        .add_fault(&json!({"path": path, "times": 1000, "action": {"status": {"status": 503}}}));
    let finished = serde_json::to_vec(&build(true, Some(0))).unwrap();
    let attempts = |extra: &[&str]| {
        let before = BlockingApi::at(&emu.base).request_log().len();
        // The outbox's budget (10 attempts) must not apply: only report's own.
        let mut cmd = hipkit_bin!().command(
            &[
                "report",
                "--event",
                "finished",
                "--build",
                "-",
                "--max-wait",
                "10ms",
            ],
            &[
                ("HIPCHAT_ENDPOINT", emu.base.as_str()),
                ("HIPCHAT_API_TOKEN", TOKEN),
                ("HIPKIT_DELIVERY__MAX_ATTEMPTS", "10"),
            ],
        );
        cmd.args(extra).current_dir(dir.path());
        let out = Hipkit::run_with_stdin(cmd, &finished);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let log = BlockingApi::at(&emu.base).request_log();
        log[before..]
            .iter()
            .filter(|r| r["path"].as_str() == Some(path))
            .count()
    };
    assert_eq!(attempts(&[]), 3, "three attempts by default");
    assert_eq!(attempts(&["--attempts", "1"]), 1);
    let out = hipkit_bin!().run(
        &[
            "report",
            "--event",
            "finished",
            "--build",
            "-",
            "--attempts",
            "0",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The first TOML block of docs/build-status.md: the complete example configuration.
fn documented_example() -> String {
    let doc = include_str!("../../../docs/build-status.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    doc[start..end].to_owned()
}

#[test]
fn the_documented_example_config_is_valid_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &documented_example());
    let mut b = build(true, Some(2));
    b["builder"]["name"] = json!("linux-x64");
    let body = serde_json::to_vec(&b).unwrap();
    let out = report(
        dir.path(),
        "http://127.0.0.1:9",
        &["--event", "finished", "--build", "-", "--dry-run"],
        &body,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("/v2/room/Builds/notification?auth_token=<redacted>"),
        "{stdout}"
    );
    assert!(stdout.contains("linux-x64 #7: <b>failure</b>"), "{stdout}");
    assert!(stdout.contains("\"color\": \"red\""), "{stdout}");
    assert!(
        stdout.contains("POST https://dashboard.example.com/buildbot"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("TOKEN") && !stdout.contains("change-me"),
        "{stdout}"
    );
}

#[test]
fn hipkit_report_sends_http_pushes_directly_and_exits_1_when_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    config(
        dir.path(),
        &format!(
            "[[reporters.http]]\nserver_url = \"http://{addr}/hook\"\nauth = {{ bearer = \"http-bearer-secret\" }}\n"
        ),
    );
    let finished = serde_json::to_vec(&build(true, Some(0))).unwrap();
    let out = report(
        dir.path(),
        "http://127.0.0.1:9",
        &["--event", "finished", "--build", "-"],
        &finished,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach the receiver"), "{stderr}");
    assert!(stderr.contains(&format!("http://{addr}/hook")), "{stderr}");
    assert!(!stderr.contains("http-bearer-secret"), "{stderr}");
}

/// `line` without terminal colour codes (`ESC [ ... m`).
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// Polls `log` until it holds `lines` lines containing `relay:`; those lines.
fn relay_lines(log: &Path, lines: usize) -> Vec<String> {
    let mut found = Vec::new();
    wait_until("the relay's log lines", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        found = text
            .lines()
            .filter(|l| l.contains("relay:"))
            .map(plain)
            .collect();
        found.len() >= lines
    });
    found
}

#[test]
fn serve_logs_one_info_line_per_relay_request_without_secrets() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), REPORTERS);
    let store = dir.path().join("hipkit.db");
    let log = dir.path().join("serve.log");
    let serve = hipkit_bin!().spawn_logging(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", cfg.as_str()),
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_LOG", "info"),
        ],
        "delivery:",
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let started = serde_json::to_vec(&build(false, None)).unwrap();
    assert_eq!(relay(&serve.base, &started, Some("relay-s3cret")).0, 202);
    assert_eq!(relay(&serve.base, &started, Some("wrong-guess")).0, 401);
    assert_eq!(
        relay(&serve.base, b"{not json", Some("relay-s3cret")).0,
        400
    );

    let lines = relay_lines(&log, 3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let queued = &lines[0];
    for part in ["INFO", "Builder0", "build=7", "event=started", "queued=2"] {
        assert!(queued.contains(part), "{part} missing in {queued}");
    }
    assert!(
        lines[1].contains("refused") && lines[1].contains("secret header"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("refused"), "{}", lines[2]);
    let all = std::fs::read_to_string(&log).unwrap();
    for secret in ["relay-s3cret", "wrong-guess", TOKEN] {
        assert!(!all.contains(secret), "the log shows a secret: {all}");
    }
}
