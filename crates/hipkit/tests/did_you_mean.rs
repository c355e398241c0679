//! Keys pasted from the seeds get "did you mean …?" (issue 21 §2): djhipchat2's
//! `colors = {CRITICAL = "red"}` and its handler's `room_id`/`token`, Buildbot's camelCase
//! parameter names.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use hipkit_testkit::hipkit_bin;

/// What `hipkit CMD` says about `config` (stdout then stderr).
fn said(command: &str, config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hipkit.toml"), config).unwrap();
    let out = hipkit_bin!()
        .command(&[command], &[])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{config} was accepted");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn djhipchat2_keys_get_a_suggestion() {
    let colors = said("config", "[log]\ncolors = { CRITICAL = \"red\" }\n");
    assert!(colors.contains("did you mean `error`?"), "{colors}");
    let room = said("config", "[log]\nroom_id = \"Ops\"\n");
    assert!(room.contains("did you mean `room`?"), "{room}");
    let token = said("config", "[log]\ntoken = \"s3cret-value\"\n");
    assert!(token.contains("`[hipchat] token`"), "{token}");
    assert!(!token.contains("s3cret-value"), "{token}");
}

#[test]
fn buildbot_camel_case_names_get_their_snake_case_key() {
    let hipchat = said(
        "check",
        "[[reporters.hipchat]]\nauth_token = \"x\"\nwantProperties = true\n",
    );
    assert!(
        hipchat.contains("unknown key `wantProperties`; did you mean `want_properties`?"),
        "{hipchat}"
    );
    let http = said(
        "check",
        "[[reporters.http]]\nserverUrl = \"http://127.0.0.1:9/\"\n",
    );
    assert!(http.contains("did you mean `server_url`?"), "{http}");
}
