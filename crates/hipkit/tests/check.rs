//! `hipkit check` against the real emulator: one line per check, exit 0 when all pass and 1
//! when any fails (bad token, unreachable endpoint, broken integration, bad config).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_testkit::{TOKEN, hipkit_bin};
use std::path::Path;
use std::process::Output;

/// Runs `hipkit check` (or `doctor`) in `dir` with `hipkit.toml` holding `config`.
fn check(dir: &Path, command: &str, config: &str, env: &[(&str, &str)]) -> (Output, String) {
    std::fs::write(dir.join("hipkit.toml"), config).unwrap();
    let out = hipkit_bin!()
        .command(&[command], env)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

/// The line of check `what`, e.g. `token`.
fn line<'a>(stdout: &'a str, what: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(what))
        .unwrap_or_else(|| panic!("no `{what}` line in:\n{stdout}"))
}

fn config(endpoint: &str, folder: &Path) -> String {
    format!(
        "[hipchat]\nendpoint = \"{endpoint}\"\n\n[integrations]\npath = \"{}\"\n\n\
         [[reporters.hipchat]]\nauth_token = \"x\"\nbuilder_room_map = {{ b = \"Build Room\" }}\n",
        folder.display()
    )
}

fn integrations(dir: &Path, scripts: &[(&str, &str)]) -> std::path::PathBuf {
    let folder = dir.join("integrations");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, text) in scripts {
        std::fs::write(folder.join(name), text).unwrap();
    }
    folder
}

const GOOD: (&str, &str) = (
    "ping.py",
    "def run_integration(query):\n    return 'pong'\n",
);

#[test]
fn a_working_setup_checks_clean_and_a_bad_token_fails() {
    let emulator = hipkit_bin!().emulator(&[]);
    let dir = tempfile::tempdir().unwrap();
    let folder = integrations(dir.path(), &[GOOD]);
    let text = config(&emulator.base, &folder);
    let (out, stdout) = check(dir.path(), "check", &text, &[("HIPCHAT_API_TOKEN", TOKEN)]);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for what in [
        "config",
        "serve",
        "reporters",
        "store",
        "hipchat",
        "token",
        "python",
    ] {
        assert!(line(&stdout, what).starts_with("ok"), "{stdout}");
    }
    assert!(line(&stdout, "/ping").contains("imports"), "{stdout}");
    assert!(
        line(&stdout, "reporters").contains("1 [[reporters.hipchat]]"),
        "{stdout}"
    );
    assert!(
        !dir.path().join("hipkit.db").exists(),
        "check creates no store"
    );

    let (out, stdout) = check(
        dir.path(),
        "doctor",
        &text,
        &[("HIPCHAT_API_TOKEN", "wrong-token-77")],
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "hipchat").starts_with("ok"), "{stdout}");
    assert!(line(&stdout, "token").starts_with("FAIL"), "{stdout}");
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !all.contains("wrong-token-77"),
        "the token is never printed: {all}"
    );
}

#[test]
fn an_unreachable_endpoint_fails() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[hipchat]\nendpoint = \"http://127.0.0.1:{port}\"\ntoken = \"t0k\"\n");
    let (out, stdout) = check(dir.path(), "check", &text, &[]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "hipchat").starts_with("FAIL"), "{stdout}");
    assert!(line(&stdout, "hipchat").contains("unreachable"), "{stdout}");
    assert!(line(&stdout, "token").starts_with("skip"), "{stdout}");
}

#[test]
fn a_broken_integration_fails_by_name() {
    let emulator = hipkit_bin!().emulator(&[]);
    let dir = tempfile::tempdir().unwrap();
    let folder = integrations(
        dir.path(),
        &[GOOD, ("broken.py", "import no_such_module_hipkit\n")],
    );
    let text = config(&emulator.base, &folder);
    let (out, stdout) = check(dir.path(), "check", &text, &[("HIPCHAT_API_TOKEN", TOKEN)]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "/ping").starts_with("ok"), "{stdout}");
    let broken = line(&stdout, "/broken");
    assert!(broken.starts_with("FAIL"), "{stdout}");
    assert!(broken.contains("no_such_module_hipkit"), "{stdout}");
}

#[test]
fn the_packaged_all_commented_config_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# [hipchat]\n# endpoint = \"https://hipchat.example.com\"\n# token = \"...\"\n\n\
                # [store]\n# path = \"/var/lib/hipkit/hipkit.db\"\n\n# [serve]\n\
                # listen = \"127.0.0.1:8080\"\n";
    let (out, stdout) = check(dir.path(), "check", text, &[]);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        line(&stdout, "hipchat").contains("built-in emulator"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "integrations").starts_with("skip"),
        "{stdout}"
    );
}

#[test]
fn a_bad_config_or_reporter_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout) = check(dir.path(), "check", "[serve]\nlisten_on = 1\n", &[]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "config").contains("listen_on"), "{stdout}");

    let reporter = "[[reporters.http]]\nserverUrl = \"http://127.0.0.1:1/x\"\n";
    let (out, stdout) = check(dir.path(), "check", reporter, &[]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "reporters").starts_with("FAIL"), "{stdout}");

    let (out, stdout) = check(dir.path(), "check", "[hipchat]\ntoken = \"t\"\n", &[]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "hipchat").contains("no endpoint"), "{stdout}");
}
