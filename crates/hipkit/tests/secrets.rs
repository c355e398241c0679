//! Secrets are never echoed (issue 20.15 and its "Also"): a TOML syntax error, a bad
//! `--token` spec, the start-up banners with a credentialed endpoint URL, and a reporter URL
//! with `user:pw@` beside configured auth (refused).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_testkit::{TOKEN, hipkit_bin};
use std::path::Path;
use std::process::Output;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    hipkit_bin!()
        .command(args, &[])
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn a_toml_syntax_error_names_the_place_not_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for config in [
        "[hipchat]\ntoken = \"toml-s3cret\n",
        "[hipchat]\ntoken = toml-s3cret\n",
    ] {
        std::fs::write(dir.path().join("hipkit.toml"), config).unwrap();
        for args in [
            &["config"][..],
            &["check"],
            &["serve", "--listen", "127.0.0.1:0"],
        ] {
            let out = run_in(dir.path(), args);
            let said = text(&out);
            assert!(!out.status.success(), "{args:?}: {said}");
            assert!(
                !said.contains("toml-s3cret"),
                "{args:?} echoed the token: {said}"
            );
            assert!(
                said.contains("TOML syntax error")
                    && said.contains("at line 2")
                    && said.contains("(key `token`)"),
                "{args:?}: {said}"
            );
        }
    }
}

#[test]
fn a_bad_emulator_token_spec_is_not_echoed() {
    let out = hipkit_bin!().run(
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "spec-s3cret:nosuchscope",
        ],
        &[],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("nosuchscope") && !said.contains("spec-s3cret"),
        "{said}"
    );
}

#[test]
fn banners_show_the_endpoint_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // (`user:pw@` in an endpoint is refused by the client, without echoing it.)
    let endpoint = "http://127.0.0.1:9/hipchat/path-s3cret?key=query-s3cret";
    let store = dir.path().join("o.db");
    let serve = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", endpoint),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
        ],
        "delivery:",
    );
    let integrations = hipkit_bin!().spawn(
        &[
            "integrations",
            "-i",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[
            ("HIPCHAT_ENDPOINT", endpoint),
            ("HIPKIT_STORE", store.to_str().unwrap()),
        ],
        "helpers:",
    );
    for banner in [&serve.lines, &integrations.lines] {
        let banner = banner.concat();
        for secret in ["path-s3cret", "query-s3cret"] {
            assert!(!banner.contains(secret), "{secret} shown:\n{banner}");
        }
        assert!(
            banner.contains("http://127.0.0.1:9/hipchat/<redacted>?key=<redacted>"),
            "{banner}"
        );
    }
}

#[test]
fn credentials_in_a_reporter_url_beside_its_auth_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hipkit.toml"),
        "[[reporters.http]]\nserver_url = \"https://bb:url-pw-2@127.0.0.1:9/hook\"\n\
         auth = { bearer = \"bearer-s3cret\" }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["check"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let line = said
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("reporters"))
        .unwrap();
    assert!(
        line.starts_with("FAIL") && line.contains("server_url carries `user:password@`"),
        "{said}"
    );
    assert!(
        !said.contains("url-pw-2") && !said.contains("bearer-s3cret"),
        "{said}"
    );
}
