//! `hipkit send` and `hipkit emulator` end to end: spawned binaries, exit codes, stdin, config.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::{Hipkit, Proc, TOKEN, hipkit_bin};
use serde_json::Value;
use std::process::Output;

/// A spawned `hipkit emulator` on a free port.
struct Emulator(Proc);

impl std::ops::Deref for Emulator {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.0
    }
}

impl Emulator {
    fn start(extra: &[&str]) -> Self {
        let mut args = vec!["emulator", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self(hipkit_bin!().spawn(&args, &[], "web UI:"))
    }

    fn get(&self, path: &str) -> Value {
        self.api().get(path)
    }
}

/// Runs `hipkit send ARGS` against `base` with the token in the environment.
fn send(base: &str, args: &[&str], stdin: Option<&str>) -> Output {
    send_env(
        args,
        stdin,
        &[("HIPCHAT_ENDPOINT", base), ("HIPCHAT_API_TOKEN", TOKEN)],
    )
}

fn send_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = hipkit_bin!().command(&["send"], env);
    cmd.args(args).current_dir(dir.path());
    Hipkit::run_with_stdin(cmd, stdin.unwrap_or_default().as_bytes())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn new_user_flow_green_notifying_message_appears_in_history() {
    // `Build Room` exists from the start: a new user can send at once.
    let emu = Emulator::start(&["--token", TOKEN]);
    let out = send(
        &emu.base,
        &["Build Room", "hello", "--color", "green", "--notify"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let history = emu.get("/v2/room/Build%20Room/history");
    let item = &history["items"][0];
    assert_eq!(item["message"], "hello");
    assert_eq!(item["color"], "green");
    assert_eq!(item["notify"], true);
    assert_eq!(item["type"], "notification");
}

#[test]
fn message_from_stdin_with_dash_or_absent() {
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops"]);
    assert!(
        send(&emu.base, &["Ops", "-"], Some("line one\nline two\n"))
            .status
            .success()
    );
    assert!(
        send(&emu.base, &["Ops", "--format", "text"], Some("piped\n"))
            .status
            .success()
    );
    let items = emu.get("/v2/room/Ops/history/latest")["items"].clone();
    assert_eq!(items[0]["message"], "line one\nline two");
    assert_eq!(items[1]["message"], "piped");
    assert_eq!(items[1]["message_format"], "text");
}

#[test]
fn send_at_a_terminal_says_what_it_expects_then_reads_the_message() {
    // `script` runs hipkit with a pseudo-terminal as its stdin (no terminal needed here) and
    // passes our input and its end on.
    let script = std::process::Command::new("script")
        .arg("--version")
        .output();
    assert!(
        script.is_ok_and(|o| o.status.success()),
        "this test needs `script` (util-linux; Debian package bsdutils) to give hipkit a terminal"
    );
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops"]);
    let line = format!("{} send Ops", env!("CARGO_BIN_EXE_hipkit"));
    let mut cmd = Hipkit::at("script").command(
        &["-qec", &line, "/dev/null"],
        &[
            ("HIPCHAT_ENDPOINT", &emu.base),
            ("HIPCHAT_API_TOKEN", TOKEN),
        ],
    );
    cmd.env("TERM", "dumb");
    let out = Hipkit::run_with_stdin(cmd, b"typed at a terminal\n");
    // The terminal shows stdout and stderr alike.
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}{}", stderr(&out));
    assert!(
        screen.contains("reading the message from the terminal")
            && screen.contains("Ctrl-D")
            && screen.contains("hipkit send ROOM MESSAGE"),
        "{screen}"
    );
    let history = emu.get("/v2/room/Ops/history");
    assert_eq!(history["items"][0]["message"], "typed at a terminal");
}

#[test]
fn piped_stdin_gets_no_terminal_hint() {
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops"]);
    let out = send(&emu.base, &["Ops"], Some("piped\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn private_messages_with_user_flag() {
    let emu = Emulator::start(&["--token", TOKEN, "--user", "dana@example.com"]);
    assert!(
        send(&emu.base, &["--user", "dana@example.com", "hi dana"], None)
            .status
            .success()
    );
    assert!(
        send(&emu.base, &["--user", "@dana"], Some("via stdin"))
            .status
            .success()
    );
    let items = emu.get("/v2/user/@dana/history/latest")["items"].clone();
    assert_eq!(items[0]["message"], "hi dana");
    assert_eq!(items[1]["message"], "via stdin");
    let colour = send(&emu.base, &["--user", "@dana", "x", "--color", "red"], None);
    assert_eq!(colour.status.code(), Some(2));
    assert!(stderr(&colour).contains("--color"));
}

#[test]
fn usage_and_validation_errors_exit_2_naming_the_problem() {
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops"]);
    let long = "x".repeat(10_001);
    let long_from = "f".repeat(65);
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["Ops", "x", "--color", "magenta"], None, "magenta"),
        (vec!["Ops", "x", "--format", "markdown"], None, "markdown"),
        (vec!["Ops", ""], None, "`message`"),
        (vec!["Ops", &long], None, "between 1 and 10000"),
        (vec!["Ops", "x", "--from", &long_from], None, "`from`"),
        (vec!["Ops"], Some(""), "`message`"),
        (vec![], None, "missing ROOM"),
        (
            vec!["--user", "@admin", "Ops", "x"],
            None,
            "only the MESSAGE",
        ),
        (
            vec!["Ops", "x", "--endpoint", "ftp://nowhere"],
            None,
            "http",
        ),
    ];
    for (args, stdin, expect) in cases {
        let out = send(&emu.base, &args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
    }
    let no_token = send_env(
        &["Ops", "x"],
        None,
        &[("HIPCHAT_ENDPOINT", emu.base.as_str())],
    );
    assert_eq!(no_token.status.code(), Some(2));
    assert!(stderr(&no_token).contains("HIPCHAT_API_TOKEN"));
    let missing_config = send(
        &emu.base,
        &["--config", "/nonexistent/hipkit.toml", "Ops", "x"],
        None,
    );
    assert_eq!(missing_config.status.code(), Some(2));
    assert!(
        emu.get("/v2/room/Ops/history")["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn api_and_network_errors_exit_1_with_hipchats_message_and_no_token() {
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops"]);
    let unknown = send(&emu.base, &["No Such Room", "x"], None);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("Room not found"));

    let bad = send_env(
        &["Ops", "x"],
        None,
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", "wrong-token-xyz"),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("Invalid OAuth session"));
    assert!(!stderr(&bad).contains("wrong-token-xyz"));
    assert!(!String::from_utf8_lossy(&bad.stdout).contains("wrong-token-xyz"));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let down = send(&dead, &["Ops", "x"], None);
    assert_eq!(down.status.code(), Some(1));
    assert!(stderr(&down).contains("network error"), "{}", stderr(&down));
}

#[test]
fn config_file_supplies_endpoint_token_and_sender_and_flags_override() {
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hipkit.toml");
    std::fs::write(
        &path,
        format!(
            "[hipchat]\nendpoint = \"{}\"\ntoken = \"{TOKEN}\"\ndefault_sender = \"FileBot\"\n",
            emu.base
        ),
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let out = send_env(&["Ops", "from file"], None, &[("HIPKIT_CONFIG", path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let env_sender = send_env(
        &["Ops", "env sender"],
        None,
        &[
            ("HIPKIT_CONFIG", path),
            ("HIPCHAT_DEFAULT_SENDER", "EnvBot"),
        ],
    );
    assert!(env_sender.status.success());
    let flag = send_env(
        &["--config", path, "Ops", "flag sender", "--from", "FlagBot"],
        None,
        &[("HIPCHAT_DEFAULT_SENDER", "EnvBot")],
    );
    assert!(flag.status.success());
    let items = emu.get("/v2/room/Ops/history/latest")["items"].clone();
    let senders: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["from"].as_str().unwrap())
        .collect();
    assert_eq!(senders, vec!["FileBot", "EnvBot", "FlagBot"]);

    std::fs::write(
        dir.path().join("bad.toml"),
        "[hipchat]\nendpont = \"typo\"\n",
    )
    .unwrap();
    let typo = send_env(
        &["Ops", "x"],
        None,
        &[(
            "HIPKIT_CONFIG",
            dir.path().join("bad.toml").to_str().unwrap(),
        )],
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("endpont"));
}

#[test]
fn emulator_without_tokens_generates_and_prints_one() {
    let emu = Emulator::start(&["--room", "Ops"]);
    let line = emu
        .lines
        .iter()
        .find(|l| l.contains("generated token"))
        .expect("generated token printed");
    let token = line.trim().rsplit(' ').next().unwrap().to_owned();
    let out = send_env(
        &["Ops", "with generated token"],
        None,
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", token.as_str()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn tls_emulator_needs_insecure_to_be_trusted() {
    let emu = Emulator::start(&["--token", TOKEN, "--room", "Ops", "--tls"]);
    assert!(emu.base.starts_with("https://"));
    let refused = send(&emu.base, &["Ops", "x"], None);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "certificate verification is on by default"
    );
    let ok = send(&emu.base, &["Ops", "x", "--insecure"], None);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn bad_emulator_flags_exit_2() {
    for args in [["--token", "t:not_a_scope"], ["--rate-limit", "lots"]] {
        let out = hipkit_bin!()
            .command(&["emulator", "--listen", "127.0.0.1:0"], &[])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn names_that_normalise_away_are_refused_before_the_wire() {
    let emu = Emulator::start(&["--token", TOKEN]);
    for name in [".", ".."] {
        let out = send(&emu.base, &[name, "hi"], None);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("`..`"), "{}", stderr(&out));
    }
    let log = emu.get("/_emulator/requests");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|r| r["path"] != "/v2/notification"),
        "nothing reached another endpoint: {log}"
    );
}

#[test]
fn configuration_that_bites_is_a_usage_error_naming_its_source() {
    let secret_endpoint = [
        ("HIPCHAT_ENDPOINT", "http://user:hunter2@127.0.0.1:9"),
        ("HIPCHAT_API_TOKEN", TOKEN),
    ];
    let out = hipkit_bin!().run(&["send", "Ops", "hi"], &secret_endpoint);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("user name or password"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));

    let out = hipkit_bin!().run(
        &["send", "Ops", "hi", "--timeout", "0"],
        &[("HIPCHAT_API_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("at least 1 second"),
        "{}",
        stderr(&out)
    );
    for args in [
        &["send", "Ops", "hi", "--timeout", "soon"][..],
        &["outbox", "purge", "--delivered-before", "soon"],
    ] {
        let out = hipkit_bin!().run(args, &[("HIPCHAT_API_TOKEN", TOKEN)]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("`soon` is not a duration like 30, 500ms, 1m30s or 7d"),
            "one duration syntax: {}",
            stderr(&out)
        );
    }

    let out = hipkit_bin!().run(&["serve"], &[("HIPKIT_LISTEN", "not-an-address")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HIPKIT_LISTEN"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hipkit.toml"), "{}", stderr(&out));

    let out = hipkit_bin!().run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("HIPKIT_SERVE__API_TOKEN", "")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("api_token is empty"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_documented_variable_is_kept_from_spawned_binaries() {
    for (name, _) in hipkit::ENV_ALIASES {
        assert!(hipkit_testkit::is_cleared(name), "{name} reaches tests");
    }
}
