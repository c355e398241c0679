//! Issue 23 §2/§3 with the bridge (issue 22) in the same `hipkit serve`: one secret form for
//! both sections, Slack and Mattermost channels mapped to `[[bridge.rooms]]`, and what the
//! seed's example integration posts through the `hipchat` helper module arriving at the
//! room's destinations. Slack requests are signed by Slack's own Python SDK
//! (tests/third_party/slack_sign.py), never by hipkit's code.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[allow(
    dead_code,
    reason = "the receiver's plans and Matrix checks are bridge.rs's"
)]
mod bridge_receiver;
#[path = "../../hipkit-integrations/tests/fixtures/seed_example.rs"]
mod seed_example;
#[path = "../../hipkit-integrations/tests/fixtures/slack_sign.rs"]
mod slack_sign;

use bridge_receiver::Receiver;
use hipkit_testkit::{BlockingApi, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SIGNING_SECRET: &str = "slash2-signing-secret-7731";
const MATTERMOST_TOKEN: &str = "slash2-mattermost-token-7732";
const UPLOADER_TOKEN: &str = "slash2-file-uploader-token-7733";
const EXAMPLE_TOKEN: &str = "slash2-example-room-token-7734";

/// `hipkit serve` with `toml` as its configuration: its exit code and standard error.
fn serve_refusing(dir: &Path, toml: &str) -> (Option<i32>, String) {
    let cfg = dir.join("hipkit.toml");
    std::fs::write(&cfg, toml).unwrap();
    let store = dir.join("hipkit.db");
    let out = hipkit_bin!().run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", cfg.to_str().unwrap()),
            ("HIPKIT_STORE", store.to_str().unwrap()),
            // Nothing here goes to HipChat: no built-in emulator (whose port is fixed).
            ("HIPCHAT_ENDPOINT", "http://127.0.0.1:9"),
            ("HIPCHAT_API_TOKEN", "unused"),
        ],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unreadable_secret_names_its_section_and_key_in_either_section() {
    let dir = tempfile::tempdir().unwrap();
    let integrations = dir.path().join("integrations");
    std::fs::create_dir(&integrations).unwrap();
    let missing = dir.path().join("no-such-secret");
    let cases = [
        (
            format!(
                "[integrations]\npath = {:?}\n[integrations.slack]\nsigning_secret = {{ file = {:?} }}\n",
                integrations.display().to_string(),
                missing.display().to_string()
            ),
            format!(
                "[integrations.slack] signing_secret: cannot read secret file {}",
                missing.display()
            ),
        ),
        (
            "[bridge]\nlisten = \"127.0.0.1:0\"\n\
             tokens = [{ token = { env = \"SLASH2_SURELY_UNSET_TOKEN\" }, scopes = [\"send_notification\"] }]\n"
                .to_owned(),
            "[bridge] tokens[0] token: environment variable SLASH2_SURELY_UNSET_TOKEN is not set"
                .to_owned(),
        ),
        (
            "[bridge]\nlisten = \"127.0.0.1:0\"\n\
             tokens = [{ token = \"t0\", scopes = [\"send_notification\"] }]\n\
             [[bridge.destinations]]\nname = \"ops-matrix\"\nkind = \"matrix\"\n\
             homeserver = \"http://127.0.0.1:9\"\nroom_id = \"!r:x\"\n\
             access_token = { env = \"SLASH2_SURELY_UNSET_MATRIX\" }\n"
                .to_owned(),
            "[[bridge.destinations]] `ops-matrix`: access_token: environment variable \
             SLASH2_SURELY_UNSET_MATRIX is not set"
                .to_owned(),
        ),
    ];
    for (toml, said) in cases {
        let (code, stderr) = serve_refusing(dir.path(), &toml);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(&said), "{said:?} not in {stderr}");
    }
}

/// `serve` with the seed's example integration and a bridge whose Build Room (id 1001) is
/// Slack channel `C-BUILD` and Mattermost channel `mm-build`, delivering to Slack (the
/// receiver); the integrations' tokens are the seed's, for that room.
fn slash_and_bridge(dir: &Path, integrations: &Path, receiver: &str) -> String {
    format!(
        r#"
[integrations]
path = {integrations:?}
tokens = ["file_uploader:{UPLOADER_TOKEN}", "1001:example:{EXAMPLE_TOKEN}"]

[integrations.slack]
signing_secret = {{ file = {secret:?} }}

[integrations.mattermost]
tokens = [{{ env = "SLASH2_MATTERMOST_TOKEN" }}]

[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "slash2-bridge-own-token", scopes = ["send_notification"] }}]

[[bridge.rooms]]
name = "Build Room"
id = 1001
to = ["ops-slack"]
channels = ["slack:C-BUILD", "mattermost:mm-build"]

[[bridge.destinations]]
name = "ops-slack"
kind = "slack"
url = "{receiver}/slack/services/T0/B0/slash2"
min_interval_ms = 50
"#,
        integrations = integrations.display().to_string(),
        secret = dir.join("signing-secret").display().to_string(),
    )
}

/// An integration that says which room it was called in.
const ROOM: &str = "\
def run_integration(notification, query):
    return 'in %s %s' % (notification.item.room.name, notification.item.room.id)
";

/// A slash-command form body (values without characters that need escaping but `/` and
/// spaces).
fn form(command: &str, text: &str, channel: &str, token: &str) -> String {
    let enc = |v: &str| v.replace('/', "%2F").replace(' ', "+");
    format!(
        "token={}&team_id=T0001&team_domain=acme&channel_id={}&channel_name=ops&\
         user_id=U2147483697&user_name=steve&command={}&text={}&\
         response_url=http%3A%2F%2F127.0.0.1%3A9%2Funused",
        enc(token),
        enc(channel),
        enc(command),
        enc(text)
    )
}

/// POSTs a form `body` to `url` with `headers`: the status and the body.
fn post_form(url: &str, headers: &[(&str, String)], body: String) -> (u16, String) {
    let api = BlockingApi::anonymous(url);
    let mut req = api
        .request(Method::POST, "")
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let (status, _, text) = api.send_text(req.body(body));
    (status, text)
}

/// The receiver's Slack messages that say `text` (in `text` or an attachment).
fn slack_saying(receiver: &Receiver, text: &str) -> Vec<Value> {
    receiver
        .delivered("slack")
        .iter()
        .map(bridge_receiver::Seen::json)
        .filter(|b| b.to_string().contains(text))
        .collect()
}

#[test]
fn the_seed_example_answers_slack_and_mattermost_and_its_room_posts_reach_the_bridge_destination() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let integrations = dir.path().join("integrations");
    std::fs::create_dir(&integrations).unwrap();
    std::fs::write(integrations.join("example.py"), seed_example::EXAMPLE).unwrap();
    std::fs::write(integrations.join("room.py"), ROOM).unwrap();
    seed_example::write_upload_file();
    std::fs::write(
        dir.path().join("signing-secret"),
        format!("{SIGNING_SECRET}\n"),
    )
    .unwrap();
    let cfg = dir.path().join("hipkit.toml");
    std::fs::write(
        &cfg,
        slash_and_bridge(dir.path(), &integrations, &receiver.base),
    )
    .unwrap();
    let store = dir.path().join("hipkit.db");
    let serve = hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", cfg.to_str().unwrap()),
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("SLASH2_MATTERMOST_TOKEN", MATTERMOST_TOKEN),
            ("HIPCHAT_ENDPOINT", "http://127.0.0.1:9"),
            ("HIPCHAT_API_TOKEN", "unused"),
        ],
        "delivery:",
    );
    let banner = serve.lines.concat();
    let line = |label: &str| {
        serve
            .lines
            .iter()
            .find(|l| l.trim().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in {banner}"))
            .clone()
    };
    let bridge = line("bridge:");
    let bridge_url = bridge
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap();
    assert!(
        line("helpers:").contains(&format!("HipChat at {bridge_url}")),
        "the helpers post through the bridge's listener: {banner}"
    );
    for secret in [
        SIGNING_SECRET,
        MATTERMOST_TOKEN,
        UPLOADER_TOKEN,
        EXAMPLE_TOKEN,
    ] {
        assert!(!banner.contains(secret), "{secret} shows in {banner}");
    }

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = form("/example", "from slack", "C-BUILD", "ignored");
    let signature = slack_sign::slack_signature(SIGNING_SECRET, now, &body);
    let signed = [
        ("x-slack-request-timestamp", now.to_string()),
        ("x-slack-signature", signature),
    ];
    let (status, answer) = post_form(&format!("{}/hooks/slack", serve.base), &signed, body);
    assert_eq!(status, 200, "{answer}");
    // The mapped channel is Build Room, id and name; an unmapped one is its own room.
    for (channel, room) in [("C-BUILD", "Build Room 1001"), ("C-OTHER", "ops C-OTHER")] {
        let body = form("/room", "", channel, "ignored");
        let signature = slack_sign::slack_signature(SIGNING_SECRET, now, &body);
        let signed = [
            ("x-slack-request-timestamp", now.to_string()),
            ("x-slack-signature", signature),
        ];
        let (status, answer) = post_form(&format!("{}/hooks/slack", serve.base), &signed, body);
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains(&format!("in {room}")), "{answer}");
    }
    let body = form("/room", "", "mm-build", MATTERMOST_TOKEN);
    let (status, answer) = post_form(&format!("{}/hooks/mattermost", serve.base), &[], body);
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("in Build Room 1001"), "{answer}");
    let body = form("/example", "from mattermost", "mm-build", MATTERMOST_TOKEN);
    let (status, answer) = post_form(&format!("{}/hooks/mattermost", serve.base), &[], body);
    assert_eq!(status, 200, "{answer}");

    // Each command's four room posts (a file, a notification, a message, a card) arrive
    // at Build Room's destination, each checked against Slack's documented shape.
    let limit = Duration::from_secs(60);
    wait_until("eight posts at the Slack receiver", limit, || {
        receiver.delivered("slack").len() >= 8
    });
    assert_eq!(receiver.violations(), Vec::<String>::new());
    for said in ["from slack", "from mattermost"] {
        assert_eq!(
            slack_saying(&receiver, said).len(),
            2,
            "{:?}",
            receiver.seen()
        );
    }
    assert_eq!(
        slack_saying(&receiver, "Test title").len(),
        2,
        "{:?}",
        receiver.seen()
    );
    assert_eq!(
        slack_saying(&receiver, "test.tmp").len(),
        2,
        "{:?}",
        receiver.seen()
    );
    assert_eq!(
        receiver.delivered("slack").len(),
        8,
        "{:?}",
        receiver.seen()
    );
}

#[test]
fn a_channel_that_is_no_platform_channel_is_refused_naming_its_room() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[bridge]\nlisten = \"127.0.0.1:0\"\n\
                tokens = [{ token = \"t0\", scopes = [\"send_notification\"] }]\n\
                [[bridge.rooms]]\nname = \"Build Room\"\nto = []\nchannels = [\"C0123\"]\n";
    let (code, stderr) = serve_refusing(dir.path(), toml);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "[[bridge.rooms]] `Build Room` channels: `C0123` is not slack:CHANNEL_ID or \
             mattermost:CHANNEL_ID"
        ),
        "{stderr}"
    );
}
