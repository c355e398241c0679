//! `hipkit config`: the effective settings of a command, each with its source (flag,
//! environment variable, file:line, default), secrets redacted, as TOML or JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_testkit::hipkit_bin;
use serde_json::Value;
use std::path::Path;

const SECRETS: [&str; 7] = [
    "slack-signing-7",
    "file-token-1",
    "env-api-token-2",
    "relay-secret-3",
    "cred-4",
    "path-secret-5",
    "bearer-6",
];

const CONFIG: &str = r#"[hipchat]
endpoint = "https://hipchat.example.com"
token = "file-token-1"

[serve]
max_body_bytes = 7

[[reporters.http]]
server_url = "https://hooks.example.com/services/path-secret-5"
headers = { X-Credential = "cred-4", Content-Type = "text/plain" }
auth = { bearer = "bearer-6" }

[reporters.relay]
secret = "relay-secret-3"
"#;

fn config(dir: &Path, args: &[&str]) -> String {
    std::fs::write(dir.join("hipkit.toml"), CONFIG).unwrap();
    let out = hipkit_bin!()
        .command(
            args,
            &[
                ("HIPKIT_SERVE__API_TOKEN", "env-api-token-2"),
                // A section whose only key is a secret.
                (
                    "HIPKIT_INTEGRATIONS__SLACK__SIGNING_SECRET",
                    "slack-signing-7",
                ),
            ],
        )
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in SECRETS {
        assert!(!stdout.contains(secret), "{secret} shown:\n{stdout}");
    }
    stdout
}

#[test]
fn json_names_each_values_source_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = config(
        dir.path(),
        &[
            "config",
            "--format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:9",
        ],
    );
    let all: Value = serde_json::from_str(&stdout).unwrap();
    let entry = |key: &str| {
        let e = &all[key];
        (
            e["value"].clone(),
            e["source"].as_str().unwrap_or("").to_owned(),
        )
    };
    let file = dir.path().join("hipkit.toml");
    let (listen, from) = entry("serve.listen");
    assert_eq!(
        (listen.as_str(), from.as_str()),
        (Some("127.0.0.1:9"), "command-line flag --listen")
    );
    let (body, from) = entry("serve.max_body_bytes");
    assert_eq!(body, 7);
    assert!(from.ends_with("hipkit.toml:6"), "{from}");
    assert!(Path::new(from.trim_end_matches(":6")).ends_with(file.file_name().unwrap()));
    let (token, from) = entry("serve.api_token");
    assert_eq!(token, "<redacted>");
    assert_eq!(from, "environment variable HIPKIT_SERVE__API_TOKEN");
    assert_eq!(entry("hipchat.token").0, "<redacted>");
    assert!(entry("hipchat.token").1.ends_with("hipkit.toml:3"));
    assert_eq!(entry("reporters.relay.secret").0, "<redacted>");
    assert_eq!(entry("integrations.slack.signing_secret").0, "<redacted>");
    assert_eq!(
        entry("delivery.concurrency"),
        (Value::from(8), "default".to_owned())
    );
    let (http, from) = entry("reporters.http");
    assert!(from.ends_with("hipkit.toml:8"), "{from}");
    assert_eq!(http[0]["headers"]["Content-Type"], "text/plain");
    assert_eq!(http[0]["headers"]["X-Credential"], "<redacted>");
    assert_eq!(http[0]["auth"], "<redacted>");
    assert_eq!(
        http[0]["server_url"],
        "https://hooks.example.com/services/<redacted>"
    );
}

#[test]
fn toml_is_valid_toml_with_a_source_comment_per_value() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = config(dir.path(), &["config"]);
    assert!(
        stdout.contains("\n[serve]\n")
            && stdout.contains("listen = \"127.0.0.1:8080\"  # default\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("api_token = \"<redacted>\"  # environment variable HIPKIT_SERVE__API_TOKEN")
    );
    assert!(
        stdout.contains("# default_sender is unset  # default"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("max_body_bytes = 7  # ") && l.ends_with("hipkit.toml:6"))
    );
    // Each table once, so the output reads back as TOML.
    let headers: Vec<&str> = stdout.lines().filter(|l| l.starts_with('[')).collect();
    let unique: std::collections::BTreeSet<&str> = headers.iter().copied().collect();
    assert_eq!(headers.len(), unique.len(), "{stdout}");
}
