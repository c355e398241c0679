//! The bridge end to end: old tools' HipChat calls (HypChat-style v2 JSON, djhipchat2-style
//! v1 form posts) to a real `hipkit serve`'s `[bridge]` listener, answered with HipChat's
//! codes and envelopes, committed to the SQLite outbox, and delivered to a loopback
//! receiver standing in for Slack, Mattermost, Rocket.Chat, Discord, Teams, Zulip and
//! Matrix (each body checked against the platform's documented shape), a templated webhook
//! and a real `hipkit emulator` (the `hipchat` kind). Secrets never show in the log, the
//! banner or `hipkit outbox`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod bridge_receiver;

use bridge_receiver::{Answer, Receiver};
use hipkit_testkit::synapse::Synapse;
use hipkit_testkit::{BlockingApi, Proc, TOKEN, assert_envelope, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// The token with every scope the old tools need.
const FULL: &str = "bridge-full-token-5521";
/// A room token: notifications to Build Room only.
const NOTIFY_ONLY: &str = "bridge-notify-only-8830";
const SLACK_SECRET: &str = "SLACKSECRET0042";
const WEBHOOK_SECRET: &str = "WEBHOOKSECRET0043";
const MATTERMOST_SECRET: &str = "MMSECRET0044";
const ROCKET_SECRET: &str = "ROCKETSECRET0045";
const DISCORD_SECRET: &str = "DISCORDSECRET0046";
const TEAMS_SECRET: &str = "TEAMSSECRET0047";
const ZULIP_SECRET: &str = "ZULIPSECRET0048";
const MATRIX_SECRET: &str = "MATRIXSECRET0049";

/// The test configuration's `[bridge] max_file_bytes`.
const MAX_FILE: usize = 16_384;

/// Every secret of the configuration (none may show anywhere).
const SECRETS: [&str; 11] = [
    FULL,
    NOTIFY_ONLY,
    SLACK_SECRET,
    WEBHOOK_SECRET,
    MATTERMOST_SECRET,
    ROCKET_SECRET,
    DISCORD_SECRET,
    TEAMS_SECRET,
    ZULIP_SECRET,
    MATRIX_SECRET,
    TOKEN,
];

/// The `[bridge]` section: Build Room to Slack, a webhook and the emulator; Ops to every
/// other kind; private messages to @bob to Slack.
fn config(receiver: &str, emulator: &str, token_file: &Path) -> String {
    format!(
        r#"
[bridge]
listen = "127.0.0.1:0"
public_url = "https://hipchat.example.test/"
max_file_bytes = {MAX_FILE}
tokens = [
  {{ token = "{FULL}", scopes = ["send_notification", "send_message", "view_room"] }},
  {{ token = {{ env = "BRIDGE_TEST_NOTIFY_TOKEN" }}, scopes = ["send_notification"], rooms = ["Build Room"] }},
]

[[bridge.rooms]]
name = "Build Room"
id = 1001
to = ["ops-slack", "ops-webhook", "old-hipchat"]

[[bridge.rooms]]
name = "Ops"
to = ["ops-mattermost", "ops-rocketchat", "ops-discord", "ops-teams", "ops-zulip", "ops-matrix"]

[[bridge.users]]
name = "Bob Builder"
mention_name = "bob"
email = "bob@example.org"
to = ["ops-slack"]

[[bridge.destinations]]
name = "ops-slack"
kind = "slack"
url = "{receiver}/slack/services/T0/B0/{SLACK_SECRET}"
min_interval_ms = 50

[[bridge.destinations]]
name = "ops-webhook"
kind = "webhook"
url = {{ env = "BRIDGE_TEST_WEBHOOK_URL" }}
template = '{{"room": {{{{ room|tojson }}}}, "text": {{{{ text|tojson }}}}, "color": {{{{ color|tojson }}}}}}'

[[bridge.destinations]]
name = "old-hipchat"
kind = "hipchat"
endpoint = "{emulator}"
token = {{ file = "{token_file}" }}

[[bridge.destinations]]
name = "ops-mattermost"
kind = "mattermost"
url = "{receiver}/mattermost/hooks/{MATTERMOST_SECRET}"
username = "hipkit"

[[bridge.destinations]]
name = "ops-rocketchat"
kind = "rocketchat"
url = "{receiver}/rocketchat/hooks/{ROCKET_SECRET}"

[[bridge.destinations]]
name = "ops-discord"
kind = "discord"
url = "{receiver}/discord/api/webhooks/1/{DISCORD_SECRET}"

[[bridge.destinations]]
name = "ops-teams"
kind = "teams"
url = "{receiver}/teams/workflows/{TEAMS_SECRET}"

[[bridge.destinations]]
name = "ops-zulip"
kind = "zulip"
site = "{receiver}/zulip"
email = "bridge-bot@example.org"
api_key = "{ZULIP_SECRET}"
stream = "ops"

[[bridge.destinations]]
name = "ops-matrix"
kind = "matrix"
homeserver = "{receiver}/matrix"
room_id = "!ops:loopback"
access_token = "{MATRIX_SECRET}"
"#,
        token_file = token_file.display()
    )
}

/// A running bridge: `hipkit serve`, its receiver and emulator, its files.
struct Bridge {
    serve: Proc,
    /// The bridge listener's base URL.
    base: String,
    receiver: Receiver,
    emulator: Proc,
    dir: tempfile::TempDir,
    /// What the test added to `serve`'s environment.
    env: Vec<(String, String)>,
}

impl Bridge {
    /// The bridge with the test configuration ([`config`]).
    fn start() -> Self {
        Self::start_with(config, &[])
    }

    /// The bridge with the configuration `toml` writes (from the receiver's and emulator's
    /// URLs and the file holding the emulator's token), `env` added to its environment.
    fn start_with(toml: impl FnOnce(&str, &str, &Path) -> String, env: &[(&str, &str)]) -> Self {
        let receiver = Receiver::start();
        let emulator =
            hipkit_bin!().emulator(&["--room", "Build Room", "--user", "bob@example.org"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("hipchat.token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
        let cfg = dir.path().join("hipkit.toml");
        std::fs::write(&cfg, toml(&receiver.base, &emulator.base, &token_file)).expect("config");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let serve = spawn_serve(dir.path(), &receiver, &emulator.base, &env);
        let base = banner_url(&serve, "bridge:");
        Self {
            serve,
            base,
            receiver,
            emulator,
            dir,
            env,
        }
    }

    /// A client of the bridge sending `token` as Bearer.
    fn api(&self, token: &str) -> BlockingApi {
        BlockingApi::new(hipkit_testkit::Api::new(&self.base, token))
    }

    /// Kills `hipkit serve` (SIGKILL, as a crash) and starts it again on the same files.
    fn restart(&mut self) {
        self.serve.kill();
        self.serve = spawn_serve(
            self.dir.path(),
            &self.receiver,
            &self.emulator.base,
            &self.env,
        );
        self.base = banner_url(&self.serve, "bridge:");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    fn outbox(&self) -> Vec<Value> {
        hipkit_bin!().outbox_records(&self.dir.path().join("hipkit.db"))
    }

    /// `hipkit outbox list` as a person reads it.
    fn outbox_table(&self) -> String {
        let store = self.dir.path().join("hipkit.db");
        let out = hipkit_bin!().run(
            &["outbox", "list"],
            &[("HIPKIT_STORE", store.to_str().expect("utf-8"))],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Asserts that no secret shows in the log, the banner or `hipkit outbox`.
    fn assert_no_secret_shows(&self) {
        let outbox = serde_json::to_string(&self.outbox()).expect("json");
        let shown = [
            ("the log", self.log()),
            ("the banner", self.serve.lines.concat()),
            ("hipkit outbox list --json", outbox),
            ("hipkit outbox list", self.outbox_table()),
        ];
        for (place, text) in &shown {
            for secret in SECRETS {
                assert!(!text.contains(secret), "{secret} shows in {place}:\n{text}");
            }
        }
    }
}

fn spawn_serve(
    dir: &Path,
    receiver: &Receiver,
    emulator: &str,
    extra: &[(String, String)],
) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("serve.log"))
        .expect("log file");
    let webhook = format!("{}/webhook/in?key={WEBHOOK_SECRET}", receiver.base);
    let cfg: PathBuf = dir.join("hipkit.toml");
    let store = dir.join("hipkit.db");
    let mut env = vec![
        ("HIPKIT_CONFIG", cfg.to_str().expect("utf-8")),
        ("HIPCHAT_ENDPOINT", emulator),
        ("HIPCHAT_API_TOKEN", TOKEN),
        ("HIPKIT_STORE", store.to_str().expect("utf-8")),
        ("HIPKIT_LOG", "debug"),
        ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "20"),
        ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "200"),
        ("BRIDGE_TEST_WEBHOOK_URL", &webhook),
        ("BRIDGE_TEST_NOTIFY_TOKEN", NOTIFY_ONLY),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    hipkit_bin!().spawn_logging(
        &["serve", "--listen", "127.0.0.1:0"],
        &env,
        "delivery:",
        Stdio::from(log),
    )
}

/// The URL on the banner line starting with `label`.
fn banner_url(serve: &Proc, label: &str) -> String {
    serve
        .lines
        .iter()
        .find(|l| l.trim().starts_with(label))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .unwrap_or_else(|| panic!("no {label} line in {:?}", serve.lines))
        .to_owned()
}

const WAIT: Duration = Duration::from_secs(30);

/// Asserts that one of `bodies` contains every one of `parts`.
fn assert_some(bodies: &[String], parts: &[&str]) {
    assert!(
        bodies.iter().any(|b| parts.iter().all(|p| b.contains(p))),
        "none of {bodies:?} contains all of {parts:?}"
    );
}

#[test]
fn old_tools_calls_reach_every_destination_and_no_secret_shows() {
    let b = Bridge::start();
    let api = b.api(FULL);

    // HypChat: room lookup by name and the room list.
    let room = api.get("/v2/room/Build%20Room");
    assert_eq!(room["id"], 1001, "{room}");
    // Links name the public URL (HypChat maps only https links to objects).
    assert_eq!(
        room["links"]["self"],
        "https://hipchat.example.test/v2/room/1001"
    );
    assert_eq!(api.get("/v2/room/1001")["name"], "Build Room");
    let names: Vec<Value> = api
        .items("/v2/room")
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("Build Room"), json!("Ops")]);

    // HypChat's notification (room by name, Bearer) and room message (auth_token query).
    let note = json!({"message": "Build <b>8</b> failed &amp; stopped", "color": "red",
                      "notify": true, "message_format": "html", "from": "buildbot"});
    assert_eq!(api.post("/v2/room/Build%20Room/notification", &note), 204);
    let anon = BlockingApi::anonymous(&b.base);
    let (status, _, answer) = anon.send(
        anon.request(
            Method::POST,
            &format!("/v2/room/1001/message?auth_token={FULL}"),
        )
        .json(&json!({"message": "deploying 1.2 <now>"})),
    );
    assert_eq!(status, 201, "{answer}");
    assert!(
        answer["id"].is_string() && answer["timestamp"].is_string(),
        "{answer}"
    );
    // A private message to a mapped user.
    assert_eq!(
        api.post("/v2/user/@bob/message", &json!({"message": "psst"})),
        204
    );
    // HypChat's share file (multipart/related): the file is named, with its size.
    let multipart = "--b0\r\nContent-Type: application/json; charset=UTF-8\r\n\
        Content-Disposition: attachment; name=\"metadata\"\r\n\r\n{\"message\": \"the build log\"}\r\n\
        --b0\r\nContent-Type: text/plain\r\n\
        Content-Disposition: attachment; name=\"file\"; filename=\"build.log\"\r\n\r\n\
        line one\nline two\n\r\n--b0--\r\n";
    let (status, _, answer) = api.send(
        api.request(Method::POST, "/v2/room/1001/share/file")
            .header("Content-Type", "multipart/related; boundary=b0")
            .body(multipart),
    );
    assert_eq!(status, 204, "{answer}");
    // auth_test checks the token and queues nothing.
    let (status, _, _) = api.call(
        Method::POST,
        "/v2/room/1001/notification?auth_test=true",
        Some(json!({"message": "not sent"})),
    );
    assert_eq!(status, 202);

    // djhipchat2: a v1 form post, auth_token in the query.
    let (status, _, answer) = anon.send(
        anon.request(
            Method::POST,
            &format!("/v1/rooms/message?format=json&auth_token={FULL}"),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("room_id=Ops&from=djhipchat2&message=v1+hello+%2A&message_format=text&notify=1&color=green"),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"status": "sent"}));

    let r = &b.receiver;
    wait_until("every destination received its messages", WAIT, || {
        r.delivered("slack").len() == 4
            && r.delivered("webhook").len() == 3
            && [
                "mattermost",
                "rocketchat",
                "discord",
                "teams",
                "zulip",
                "matrix",
            ]
            .iter()
            .all(|p| r.delivered(p).len() == 1)
    });
    assert_eq!(r.violations(), Vec::<String>::new());

    // Slack: mrkdwn-escaped, the author label kept.
    let slack = r.bodies("slack");
    assert_some(&slack, &["buildbot", "failed"]);
    assert_some(&slack, &["deploying 1.2 &lt;now&gt;"]);
    assert_some(&slack, &["psst"]);
    assert_some(&slack, &["the build log", "build.log", "18"]);
    // The webhook's template, rendered with the accepted call.
    let hooks: Vec<Value> = r.delivered("webhook").iter().map(|s| s.json()).collect();
    assert!(hooks.iter().all(|h| h["room"] == "Build Room"), "{hooks:?}");
    assert!(hooks.iter().any(|h| h["color"] == "red"), "{hooks:?}");
    assert!(r.delivered("webhook")[0].path.starts_with("/webhook/in"));
    // Zulip: basic auth with the bot's key, the room as the topic.
    let zulip = &r.delivered("zulip")[0];
    assert!(
        zulip
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic ")),
        "{zulip:?}"
    );
    assert_eq!(zulip.form()["topic"], "Ops");
    assert!(zulip.form()["content"].contains("v1 hello"), "{zulip:?}");
    // Matrix: the access token as Bearer, a transaction id in the path.
    let matrix = &r.delivered("matrix")[0];
    assert_eq!(
        matrix.authorization.as_deref(),
        Some(&*format!("Bearer {MATRIX_SECRET}"))
    );
    assert!(
        matrix.path.contains("/send/m.room.message/hipkit-"),
        "{matrix:?}"
    );
    // Discord pings nobody.
    assert_eq!(
        r.delivered("discord")[0].json()["allowed_mentions"]["parse"],
        json!([])
    );

    // The hipchat kind: forwarded to the emulator's room.
    let emulator = b.emulator.api();
    wait_until(
        "the emulator has the three Build Room messages",
        WAIT,
        || emulator.history("Build Room").len() == 3,
    );
    let history: Vec<String> = emulator
        .history("Build Room")
        .iter()
        .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(history[0].contains("failed"), "{history:?}");
    assert_eq!(history[1], "deploying 1.2 <now>");
    // The shared file is shared again, its bytes with it.
    assert_eq!(history[2], "the build log");
    let shared = &emulator.history("Build Room")[2]["file"];
    assert_eq!(shared["name"], "build.log", "{shared}");
    assert_eq!(shared["size"], 18, "{shared}");

    // Every parcel delivered, shown as a bridge parcel by `hipkit outbox`.
    wait_until("the outbox shows every parcel delivered", WAIT, || {
        let all = b.outbox();
        all.len() == 16 && all.iter().all(|r| r["state"] == "delivered")
    });
    let table = b.outbox_table();
    assert!(table.contains("room:Build Room via ops-slack"), "{table}");
    assert!(table.contains("user:Bob Builder via ops-slack"), "{table}");
    assert!(table.contains("room:Ops via ops-matrix"), "{table}");
    b.assert_no_secret_shows();
}

/// HypChat's share-file request (`multipart/related`: a JSON `metadata` part, then the file)
/// to `room`.
fn share_request(
    api: &BlockingApi,
    room: &str,
    message: &str,
    name: &str,
    content_type: &str,
    data: &[u8],
) -> reqwest::RequestBuilder {
    let mut body = format!(
        "--b0\r\nContent-Type: application/json; charset=UTF-8\r\n\
         Content-Disposition: attachment; name=\"metadata\"\r\n\r\n{}\r\n\
         --b0\r\nContent-Type: {content_type}\r\n\
         Content-Disposition: attachment; name=\"file\"; filename=\"{name}\"\r\n\r\n",
        json!({ "message": message })
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\r\n--b0--\r\n");
    api.request(Method::POST, &format!("/v2/room/{room}/share/file"))
        .header("Content-Type", "multipart/related; boundary=b0")
        .body(body)
}

/// The bytes `url` serves (with `bearer` as its token, if any); panics on any answer but 200.
fn download(url: &str, bearer: Option<&str>) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("download");
        assert_eq!(resp.status(), 200, "GET {url}");
        resp.bytes().await.expect("the bytes").to_vec()
    })
}

/// Bytes that are not text: every byte value, repeated.
fn binary(len: usize) -> Vec<u8> {
    (0..=255u8).cycle().take(len).collect()
}

#[test]
fn shared_files_are_uploaded_where_the_destination_takes_files() {
    let b = Bridge::start();
    let api = b.api(FULL);
    let log = binary(3_000);
    let image = binary(5_000);
    // Build Room: Slack and the webhook name the file; the hipchat kind shares it again.
    let (status, _, answer) = api.send(share_request(
        &api,
        "1001",
        "the nightly log",
        "nightly.bin",
        "application/octet-stream",
        &log,
    ));
    assert_eq!(status, 204, "{answer}");
    // Ops: Discord, Zulip and Matrix upload it; Mattermost, Rocket.Chat and Teams name it.
    let (status, _, answer) = api.send(share_request(
        &api,
        "Ops",
        "",
        "graph.png",
        "image/png",
        &image,
    ));
    assert_eq!(status, 204, "{answer}");

    let r = &b.receiver;
    wait_until("every destination took the files", WAIT, || {
        r.delivered("slack").len() == 1
            && r.delivered("webhook").len() == 1
            && r.delivered("zulip").len() == 2
            && r.delivered("matrix").len() == 2
            && ["mattermost", "rocketchat", "discord", "teams"]
                .iter()
                .all(|p| r.delivered(p).len() == 1)
    });
    assert_eq!(r.violations(), Vec::<String>::new());

    // Named where the webhook cannot take a file.
    assert_some(
        &r.bodies("slack"),
        &["the nightly log", "nightly.bin", "2.9 KiB"],
    );
    assert_some(&r.bodies("webhook"), &["nightly.bin (3000 bytes)"]);
    for platform in ["mattermost", "rocketchat", "teams"] {
        assert_some(&r.bodies(platform), &["graph.png", "4.9 KiB"]);
    }
    // Discord: the file as `files[0]` beside `payload_json`.
    let discord = r.delivered("discord")[0].parts();
    let file = discord
        .iter()
        .find(|p| p.name == "files[0]")
        .expect("files[0]");
    assert_eq!(file.filename.as_deref(), Some("graph.png"));
    assert_eq!(file.content_type.as_deref(), Some("image/png"));
    assert!(file.data == image, "Discord got other bytes");
    // Zulip: uploaded, then linked from the message.
    let zulip = r.delivered("zulip");
    assert_eq!(zulip[0].path, "/zulip/api/v1/user_uploads");
    assert!(zulip[0].parts()[0].data == image, "Zulip got other bytes");
    let content = &zulip[1].form()["content"];
    assert!(
        content.contains(&format!("]({}/zulip/user_uploads/", r.base)),
        "{content}"
    );
    // Matrix: uploaded, then an m.image event naming the mxc:// URI it was given.
    let matrix = r.delivered("matrix");
    assert_eq!(matrix[0].path, "/matrix/_matrix/media/v3/upload");
    assert!(matrix[0].raw == image, "Matrix got other bytes");
    assert_eq!(matrix[0].content_type, "image/png");
    let event = matrix[1].json();
    assert_eq!(event["msgtype"], "m.image", "{event}");
    assert_eq!(event["body"], "graph.png", "{event}");
    assert!(
        event["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("mxc://loopback/media")),
        "{event}"
    );
    assert_eq!(event["info"]["size"], 5_000, "{event}");

    // The hipchat kind: the emulator has the file, byte for byte.
    let emulator = b.emulator.api();
    wait_until("the emulator has the shared file", WAIT, || {
        emulator.history("Build Room").len() == 1
    });
    let item = &emulator.history("Build Room")[0];
    assert_eq!(item["message"], "the nightly log", "{item}");
    assert_eq!(item["file"]["name"], "nightly.bin", "{item}");
    let url = item["file"]["url"].as_str().expect("a file url");
    assert!(
        download(url, None) == log,
        "the emulator serves other bytes"
    );

    // Only the parcels of destinations that upload carry the bytes.
    wait_until("every parcel is delivered", WAIT, || {
        let all = b.outbox();
        all.len() == 9 && all.iter().all(|r| r["state"] == "delivered")
    });
    for record in b.outbox() {
        let parcel: Value =
            serde_json::from_str(record["payload"].as_str().expect("payload")).expect("parcel");
        let via = parcel["via"].as_str().expect("via");
        let carries = parcel["item"]["chat"]["payload"]["file"]["data"].is_string();
        let uploads = ["old-hipchat", "ops-discord", "ops-zulip", "ops-matrix"].contains(&via);
        assert_eq!(carries, uploads, "{via}: {parcel}");
    }
    b.assert_no_secret_shows();
}

#[test]
fn refusals_are_hipchats_and_queue_nothing() {
    let b = Bridge::start();
    let note = json!({"message": "hello"});
    let full = b.api(FULL);
    let room_token = b.api(NOTIFY_ONLY);
    let anon = BlockingApi::anonymous(&b.base);

    let (status, _, body) = anon.call(
        Method::POST,
        "/v2/room/1001/notification",
        Some(note.clone()),
    );
    assert_eq!(status, 401);
    assert_envelope(&body, 401, "");
    let (status, _, body) = b.api("not-a-bridge-token").call(
        Method::POST,
        "/v2/room/1001/notification",
        Some(note.clone()),
    );
    assert_eq!(status, 401);
    assert_envelope(&body, 401, "Invalid OAuth session");

    let (status, _, body) = full.call(
        Method::POST,
        "/v2/room/Nowhere/notification",
        Some(note.clone()),
    );
    assert_eq!(status, 404);
    assert_envelope(&body, 404, "Room not found");
    let (status, _, body) = full.call(Method::POST, "/v2/user/@nobody/message", Some(note.clone()));
    assert_eq!(status, 404);
    assert_envelope(&body, 404, "User not found");

    // Missing scope: the room token cannot send room messages or look rooms up.
    let (status, _, body) =
        room_token.call(Method::POST, "/v2/room/1001/message", Some(note.clone()));
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "send_message");
    let (status, _, body) = room_token.call(Method::GET, "/v2/room", None);
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "view_room");
    // A room token for another room.
    let (status, _, body) = room_token.call(
        Method::POST,
        "/v2/room/Ops/notification",
        Some(note.clone()),
    );
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "room token");
    // An invalid body: HipChat's 400.
    let (status, _, body) = full.call(
        Method::POST,
        "/v2/room/1001/notification",
        Some(json!({"message": ""})),
    );
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "");

    // A shared file over `max_file_bytes`: HipChat's 413.
    let big = vec![b'x'; MAX_FILE + 1];
    let (status, _, body) = full.send(share_request(
        &full,
        "1001",
        "too big",
        "big.bin",
        "application/octet-stream",
        &big,
    ));
    assert_eq!(status, 413, "{body}");
    assert_envelope(&body, 413, "too large");

    // HipChat's rate-limit headers: its documented 500 per 5 minutes, per token.
    let remaining = |headers: &reqwest::header::HeaderMap| -> u64 {
        assert_eq!(headers["x-ratelimit-limit"], "500", "{headers:?}");
        assert!(headers.contains_key("x-ratelimit-reset"), "{headers:?}");
        headers["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (status, first, _) = full.call(Method::GET, "/v2/room/1001", None);
    assert_eq!(status, 200);
    let (_, second, _) = full.call(Method::GET, "/v2/room/1001", None);
    assert_eq!(remaining(&first) - 1, remaining(&second));

    // v1: its own words for a bad token.
    let (status, _, body) = anon.send(
        anon.request(
            Method::POST,
            "/v1/rooms/message?format=json&auth_token=wrong",
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("room_id=1001&from=x&message=hi"),
    );
    assert_eq!(status, 401, "{body}");
    assert_envelope(&body, 401, "Auth token invalid");

    // The room token may notify its own room.
    assert_eq!(room_token.post("/v2/room/1001/notification", &note), 204);
    wait_until("the one accepted call is delivered", WAIT, || {
        b.receiver.delivered("slack").len() == 1
    });
    assert_eq!(
        b.outbox().len(),
        3,
        "one parcel per destination of Build Room, nothing else"
    );
    b.assert_no_secret_shows();
}

/// Runs `sql` on the SQLite database `serve` uses, as another process would (fault
/// injection: a trigger that refuses some inserts); answers the first column of its last
/// row, if any.
fn sql(db: &Path, sql: &'static str) -> Option<i64> {
    use sqlx::{Connection, Row};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
        let rows = sqlx::raw_sql(sql).fetch_all(&mut conn).await.expect(sql);
        conn.close().await.expect("close");
        rows.last().map(|row| row.get::<i64, _>(0))
    })
}

/// How many records the outbox holds (`hipkit outbox list` stops at its limit).
fn outbox_count(db: &Path) -> i64 {
    sql(db, "SELECT count(*) FROM outbox").expect("a count")
}

/// More destinations than the outbox commits in one transaction (512 records): parcels
/// committed one by one would necessarily span several transactions.
const WIDE: usize = 600;

/// A room `Wide` sending to [`WIDE`] webhook destinations `wide-0`, `wide-1`, ...
fn wide_config(receiver: &str, _emulator: &str, _token_file: &Path) -> String {
    let to: Vec<String> = (0..WIDE).map(|n| format!("\"wide-{n}\"")).collect();
    let mut toml = format!(
        r#"
[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "{FULL}", scopes = ["send_notification"] }}]

[[bridge.rooms]]
name = "Wide"
to = [{}]
"#,
        to.join(", ")
    );
    for n in 0..WIDE {
        toml.push_str(&format!(
            "\n[[bridge.destinations]]\nname = \"wide-{n}\"\nkind = \"webhook\"\n\
             url = \"{receiver}/webhook/in\"\ntemplate = '{{\"text\": {{{{ text|tojson }}}}}}'\n"
        ));
    }
    toml
}

#[test]
fn a_call_whose_parcels_cannot_all_be_queued_queues_none() {
    let b = Bridge::start_with(wide_config, &[]);
    let db = b.dir.path().join("hipkit.db");
    // The store refuses the last destination's parcel only.
    sql(
        &db,
        "CREATE TRIGGER refuse_last BEFORE INSERT ON outbox \
         WHEN NEW.destination = 'room:Wide via wide-599' \
         BEGIN SELECT RAISE(ABORT, 'injected: wide-599 refused'); END;",
    );
    let api = b.api(FULL);
    let (status, _, body) = api.call(
        Method::POST,
        "/v2/room/Wide/notification",
        Some(json!({"message": "refused"})),
    );
    assert_eq!(status, 503, "{body}");
    assert_envelope(&body, 503, "could not be queued");
    let left = outbox_count(&db);
    assert_eq!(
        left, 0,
        "the refused call left {left} parcels behind (a client's retry would duplicate them)"
    );

    // The fault gone, the client's retry is queued once for every destination.
    sql(&db, "DROP TRIGGER refuse_last;");
    assert_eq!(
        api.post("/v2/room/Wide/notification", &json!({"message": "retried"})),
        204
    );
    assert_eq!(outbox_count(&db), WIDE as i64);
    wait_until("every destination received the retry", WAIT, || {
        b.receiver.delivered("webhook").len() >= WIDE
    });
    assert_eq!(b.receiver.delivered("webhook").len(), WIDE);
    assert!(
        b.receiver
            .bodies("webhook")
            .iter()
            .all(|t| t.contains("retried"))
    );
}

/// `hipkit serve` with the configuration `toml`: it must refuse to start; answers what it
/// printed on stderr.
fn refused_start(toml: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("hipkit.toml");
    std::fs::write(&cfg, toml).expect("config");
    let store = dir.path().join("hipkit.db");
    let env = [
        ("HIPKIT_CONFIG", cfg.to_str().expect("utf-8")),
        ("HIPKIT_STORE", store.to_str().expect("utf-8")),
    ];
    let mut child = hipkit_bin!()
        .command(&["serve", "--listen", "127.0.0.1:0", "--emulator"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hipkit serve");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > WAIT {
            child.kill().expect("kill");
            panic!("hipkit serve started with:\n{toml}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success(), "hipkit serve exited 0 with:\n{toml}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `[bridge]` with one room sending to `destination`, a webhook named `name`.
fn one_destination(name: &str, destination: &str) -> String {
    format!(
        r#"
[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "{FULL}", scopes = ["send_notification"] }}]

[[bridge.rooms]]
name = "Build Room"
to = ["{name}"]

[[bridge.destinations]]
name = "{name}"
{destination}
"#
    )
}

#[test]
fn a_destination_named_like_a_buildbot_reporter_is_refused_at_start() {
    let webhook = "kind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\
                   template = '{\"text\": {{ text|tojson }}}'";
    let mut toml = one_destination("ops-alerts", webhook);
    toml.push_str(
        r#"
[[reporters.http]]
name = "ops-alerts"
server_url = "http://127.0.0.1:9/buildbot"
"#,
    );
    let err = refused_start(&toml);
    assert!(
        err.contains("`ops-alerts`")
            && err.contains("[[bridge.destinations]]")
            && err.contains("[[reporters.http]]"),
        "the error names the name and both tables: {err}"
    );
    // A reporter's default name (`http-1`) clashes too.
    let mut toml = one_destination("http-1", webhook);
    toml.push_str("\n[[reporters.http]]\nserver_url = \"http://127.0.0.1:9/buildbot\"\n");
    let err = refused_start(&toml);
    assert!(err.contains("`http-1`"), "{err}");
}

#[test]
fn an_unknown_key_in_a_destination_is_refused_at_start() {
    // A translation option misspelt: it used to be ignored, the option silently off.
    let slack = "kind = \"slack\"\nurl = \"http://127.0.0.1:9/slack\"\nmass_mentoin = true";
    let err = refused_start(&one_destination("ops-slack", slack));
    assert!(
        err.contains("[[bridge.destinations]] `ops-slack`") && err.contains("`mass_mentoin`"),
        "the error names the destination and the key: {err}"
    );
    assert!(err.contains("did you mean `mass_mention`?"), "{err}");
    // A kind's own key misspelt.
    let hipchat = "kind = \"hipchat\"\nendpoint = \"http://127.0.0.1:9\"\ntoken = \"t\"\n\
                   rooom = \"Ops\"";
    let err = refused_start(&one_destination("old-hipchat", hipchat));
    assert!(
        err.contains("`old-hipchat`") && err.contains("`rooom`") && err.contains("`room`"),
        "{err}"
    );
}

#[test]
fn rate_limits_and_failures_are_retried_and_refusals_dead_lettered() {
    let b = Bridge::start();
    let r = &b.receiver;
    r.plan("slack", &[Answer::TooManyHeader, Answer::ServerError]);
    r.plan("discord", &[Answer::TooManyBody]);
    r.plan("matrix", &[Answer::TooManyBody, Answer::ServerError]);
    r.plan("mattermost", &[Answer::Refuse]);
    let api = b.api(FULL);
    let steps = ["one", "two", "three", "four", "five"];
    for step in steps {
        let note = json!({"message": format!("step {step}"), "message_format": "text"});
        assert_eq!(api.post("/v2/room/1001/notification", &note), 204);
        assert_eq!(api.post("/v2/room/Ops/notification", &note), 204);
    }

    wait_until(
        "the rate-limited and failed requests are delivered, and the rest behind them",
        WAIT,
        || {
            ["slack", "discord", "matrix"]
                .iter()
                .all(|p| r.delivered(p).len() == steps.len())
                && r.delivered("mattermost").len() == steps.len() - 1
        },
    );
    let statuses = |p: &str| -> Vec<u16> {
        r.seen()
            .iter()
            .filter(|s| s.platform == p)
            .map(|s| s.status)
            .collect()
    };
    // The first message of each room holds its lane until delivered: nothing overtakes it.
    assert_eq!(statuses("slack"), [429, 500, 200, 200, 200, 200, 200]);
    assert_eq!(statuses("discord"), [429, 200, 200, 200, 200, 200]);
    assert_eq!(statuses("matrix"), [429, 500, 200, 200, 200, 200, 200]);
    // A dead letter stops holding its lane.
    assert_eq!(statuses("mattermost"), [400, 200, 200, 200, 200]);
    // Nothing lost, in the order accepted.
    for platform in ["slack", "discord", "matrix", "webhook"] {
        let delivered = r.bodies(platform);
        for (n, step) in steps.iter().enumerate() {
            assert!(
                delivered[n].contains(&format!("step {step}")),
                "{platform}: message {n} is not step {step}: {delivered:?}"
            );
        }
    }
    // Every Matrix attempt is the same transaction: a retry never posts twice.
    let paths: Vec<String> = r
        .seen()
        .iter()
        .filter(|s| s.platform == "matrix")
        .map(|s| s.path.clone())
        .collect();
    assert!(paths[..3].iter().all(|p| *p == paths[0]), "{paths:?}");

    // Mattermost's refusal is a dead letter carrying its answer.
    let dead = b
        .outbox()
        .into_iter()
        .find(|rec| rec["destination"] == "room:Ops via ops-mattermost" && rec["state"] == "dead")
        .expect("the dead mattermost parcel");
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("invalid_payload: refused by plan"),
        "{dead}"
    );
    assert_eq!(r.violations(), Vec::<String>::new());
    b.assert_no_secret_shows();
}

#[test]
fn a_retry_after_a_later_part_failed_does_not_post_the_earlier_parts_again() {
    let b = Bridge::start();
    // A Discord embed takes 4,096 characters: this message goes in two parts. The second
    // fails once.
    let words: Vec<String> = (0..900).map(|n| format!("w{n:03}")).collect();
    let text = format!("START {} END", words.join(" "));
    b.receiver
        .plan("discord", &[Answer::Accept, Answer::ServerError]);
    let note = json!({"message": text, "message_format": "text"});
    assert_eq!(b.api(FULL).post("/v2/room/Ops/notification", &note), 204);
    wait_until("Discord has the last part", WAIT, || {
        b.receiver
            .bodies("discord")
            .iter()
            .any(|body| body.contains("END"))
    });
    let bodies = b.receiver.bodies("discord");
    assert!(bodies.len() >= 2, "{bodies:?}");
    let mut unique = bodies.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        bodies.len(),
        "a part was posted twice: {bodies:#?}"
    );
    assert!(bodies[0].contains("START"), "{bodies:?}");
    let failed = b.receiver.seen().iter().filter(|s| s.status == 500).count();
    assert_eq!(failed, 1);
}

#[test]
fn a_restart_mid_message_sends_only_the_missing_parts() {
    // Attempts enough for the refusals before and during the restart.
    let mut b = Bridge::start_with(config, &[("HIPKIT_DELIVERY__MAX_ATTEMPTS", "100")]);
    // A Discord embed takes 4,096 characters: this message goes in two parts. The receiver
    // takes the first, then refuses until `serve` was killed (-9) and started again.
    let words: Vec<String> = (0..900).map(|n| format!("w{n:03}")).collect();
    let text = format!("START {} END", words.join(" "));
    b.receiver.plan("discord", &[Answer::Accept]);
    b.receiver.plan("discord", &[Answer::ServerError; 90]);
    let note = json!({"message": text, "message_format": "text"});
    assert_eq!(b.api(FULL).post("/v2/room/Ops/notification", &note), 204);
    wait_until("Discord refused the second part", WAIT, || {
        b.receiver
            .seen()
            .iter()
            .any(|s| s.platform == "discord" && s.status == 500)
    });
    b.restart();
    b.receiver.clear_plan("discord");
    wait_until("Discord has the last part", WAIT, || {
        b.receiver
            .bodies("discord")
            .iter()
            .any(|body| body.contains("END"))
    });
    wait_until("the outbox is drained", WAIT, || {
        b.outbox().iter().all(|r| r["state"] == "delivered")
    });
    // Each part exactly once, in order: the first was not posted again after the restart.
    let bodies = b.receiver.bodies("discord");
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert!(
        bodies[0].contains("START") && !bodies[0].contains("END"),
        "{bodies:?}"
    );
    assert!(
        bodies[1].contains("END") && !bodies[1].contains("START"),
        "{bodies:?}"
    );
    assert_eq!(b.receiver.violations(), Vec::<String>::new());
}

#[test]
fn a_crash_mid_delivery_posts_each_matrix_message_exactly_once() {
    let mut b = Bridge::start();
    // The first Matrix request is processed but its answer never reaches the bridge.
    b.receiver.plan("matrix", &[Answer::Stall]);
    let api = b.api(FULL);
    for n in 1..=3 {
        let note = json!({"message": format!("deploy step {n}")});
        assert_eq!(api.post("/v2/room/Ops/notification", &note), 204);
    }
    wait_until("the stalled Matrix request arrived", WAIT, || {
        b.receiver.seen().iter().any(|s| s.platform == "matrix")
    });
    b.restart();
    wait_until("every parcel is delivered after the restart", WAIT, || {
        let all = b.outbox();
        all.len() == 18 && all.iter().all(|r| r["state"] == "delivered")
    });
    // Each message is one Matrix event, though one transaction was sent twice.
    let events = b.receiver.matrix_events();
    assert_eq!(events.len(), 3, "{events:?}");
    let requests: Vec<String> = b
        .receiver
        .seen()
        .iter()
        .filter(|s| s.platform == "matrix")
        .map(|s| s.path.clone())
        .collect();
    // Others may have been answered but not yet marked delivered at the crash: sent again too.
    assert!(requests.len() >= 4, "{requests:?}");
    assert!(
        requests[1..].contains(&requests[0]),
        "the stalled transaction is sent again with the same id: {requests:?}"
    );
    let bodies: Vec<String> = b
        .receiver
        .seen()
        .iter()
        .filter(|s| s.platform == "matrix" && s.status == 200)
        .map(|s| s.json()["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    for n in 1..=3 {
        assert!(
            bodies
                .iter()
                .any(|body| body.contains(&format!("deploy step {n}"))),
            "{bodies:?}"
        );
    }
    assert_eq!(b.receiver.violations(), Vec::<String>::new());
    b.assert_no_secret_shows();
}

/// `[bridge]` with one room delivered to a real Synapse room, paced so that a crash lands
/// mid-delivery.
fn matrix_config(homeserver: &str, room_id: &str) -> String {
    format!(
        r#"
[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "{FULL}", scopes = ["send_notification", "send_message"] }}]

[[bridge.rooms]]
name = "Build Room"
to = ["synapse"]

[[bridge.destinations]]
name = "synapse"
kind = "matrix"
homeserver = "{homeserver}"
room_id = "{room_id}"
access_token = {{ env = "BRIDGE_TEST_MATRIX_TOKEN" }}
min_interval_ms = 300
"#
    )
}

#[test]
fn a_real_synapse_gets_every_message_once_in_order_across_a_crash() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let synapse = rt.block_on(Synapse::start());
    let (poster, reader, room) = rt.block_on(async {
        let poster = synapse.register("bridge").await;
        let reader = synapse.register("reader").await;
        let room = synapse.create_room(&poster, "Build Room").await;
        synapse.join(&poster, &room, &reader).await;
        (poster, reader, room)
    });
    let homeserver = synapse.base().to_owned();
    let mut b = Bridge::start_with(
        |_, _, _| matrix_config(&homeserver, &room),
        &[("BRIDGE_TEST_MATRIX_TOKEN", &poster.access_token)],
    );
    let read = || -> Vec<String> {
        rt.block_on(synapse.messages(&reader, &room))
            .iter()
            .map(|e| e["content"]["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let api = b.api(FULL);
    let count = 6;
    for n in 1..=count {
        let note = json!({"message": format!("deploy step {n}"), "message_format": "text"});
        assert_eq!(api.post("/v2/room/Build%20Room/notification", &note), 204);
    }
    wait_until("the first message is in the Matrix room", WAIT, || {
        !read().is_empty()
    });
    b.restart();
    wait_until(
        "every message is in the Matrix room",
        Duration::from_secs(60),
        || read().len() >= count,
    );
    // Let a duplicate, if any, arrive before counting.
    wait_until("the outbox is drained", WAIT, || {
        b.outbox().iter().all(|r| r["state"] == "delivered")
    });
    let bodies = read();
    // Yellow, HipChat's default colour, is an emoji on Matrix.
    let expected: Vec<String> = (1..=count).map(|n| format!("🟡 deploy step {n}")).collect();
    assert_eq!(bodies, expected, "exactly once, in order");

    // A shared file: its message, then the file uploaded to the homeserver's media
    // repository and posted as an m.file event; read back and downloaded as the reader.
    let data = binary(4_000);
    let api = b.api(FULL);
    let (status, _, answer) = api.send(share_request(
        &api,
        "Build%20Room",
        "the core dump",
        "core.bin",
        "application/octet-stream",
        &data,
    ));
    assert_eq!(status, 204, "{answer}");
    wait_until("the file is in the Matrix room", WAIT, || {
        read().len() == count + 2
    });
    let events = rt.block_on(synapse.messages(&reader, &room));
    assert!(
        events[count]["content"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("the core dump")),
        "{:?}",
        events[count]
    );
    let file = &events[count + 1]["content"];
    assert_eq!(file["msgtype"], "m.file", "{file}");
    assert_eq!(file["body"], "core.bin", "{file}");
    assert_eq!(file["info"]["size"], 4_000, "{file}");
    let mxc = file["url"].as_str().expect("an mxc:// url");
    let (server, media) = mxc
        .strip_prefix("mxc://")
        .and_then(|m| m.split_once('/'))
        .unwrap_or_else(|| panic!("not an mxc:// URI: {mxc}"));
    let url = format!(
        "{}/_matrix/client/v1/media/download/{server}/{media}",
        synapse.base()
    );
    assert!(
        download(&url, Some(&reader.access_token)) == data,
        "Synapse serves other bytes"
    );
    let log = b.log();
    assert!(
        !log.contains(&poster.access_token),
        "the access token shows in the log"
    );
    b.assert_no_secret_shows();
}

#[test]
fn hipkit_send_and_buildbots_hipchat_push_pointed_at_the_bridge_are_delivered() {
    let b = Bridge::start();
    // Buildbot 2.x HipChatStatusPush: `auth_token` in the query, Python's JSON, the room
    // notification and the private message (to an e-mail) of one build event.
    let anon = BlockingApi::anonymous(&b.base);
    let build = r#"{"message": "Buildbot started build Builder0 here: http://buildbot:8010/#builders/79/builds/8"}"#;
    for path in [
        "/v2/room/Build%20Room/notification",
        "/v2/user/bob@example.org/message",
    ] {
        let (status, _, answer) = anon.send(
            anon.request(Method::POST, &format!("{path}?auth_token={FULL}"))
                .header("Content-Type", "application/json")
                .body(build),
        );
        assert_eq!(status, 204, "{path}: {answer}");
    }
    let env = [
        ("HIPCHAT_ENDPOINT", b.base.as_str()),
        ("HIPCHAT_API_TOKEN", FULL),
    ];
    let out = hipkit_bin!().run(
        &[
            "send",
            "--color",
            "green",
            "Build Room",
            "sent by hipkit send",
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hipkit_bin!().run(&["send", "--user", "@bob", "private by hipkit send"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("all four reach Slack", WAIT, || {
        b.receiver.delivered("slack").len() == 4
    });
    let slack = b.receiver.bodies("slack");
    assert_some(&slack, &["sent by hipkit send", "good"]);
    assert_eq!(
        slack
            .iter()
            .filter(|t| t.contains("Buildbot started build Builder0"))
            .count(),
        2,
        "{slack:?}"
    );
    // A room and a user are two lanes: no order between them.
    assert_some(&slack, &["private by hipkit send"]);
    b.assert_no_secret_shows();
}
