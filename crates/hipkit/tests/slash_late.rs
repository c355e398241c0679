//! Issue 23 §2: a slash command's reply that comes after the answer (a call still running
//! after 2 s, a long reply's later parts) is posted to its `response_url` through the
//! outbox of a real `hipkit serve`: retried after a 5xx and delivered once, delivered after
//! `serve` is killed (SIGKILL) and restarted, dead-lettered with the platform's answer on a
//! 404 or 410, and never shown with its path (the URL's secret) in `hipkit outbox`, the log
//! or the banner. Where there is no outbox (standalone `hipkit integrations`, `serve` with
//! another `[delivery] backend`) it is posted directly with retries in memory: delivered
//! once after a 5xx, later parts in order, a 404 ending it after one post, and nothing
//! queued in the store's outbox. Slack requests are signed by Slack's own Python SDK
//! (tests/third_party/slack_sign.py), never by hipkit's code.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "../../hipkit-integrations/tests/fixtures/slack_sign.rs"]
mod slack_sign;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipkit_testkit::{BlockingApi, Proc, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SIGNING_SECRET: &str = "late-signing-secret-5521";
const MATTERMOST_TOKEN: &str = "late-mattermost-token-5522";
/// The secret part of the test's Slack `response_url`s.
const SLACK_PATH: &str = "commands/T0/B0/late-slack-s3cret";
/// The secret part of the test's Mattermost `response_url`s.
const MATTERMOST_PATH: &str = "hooks/commands/late-mm-s3cret";

/// How long anything here may take to arrive.
const LIMIT: Duration = Duration::from_secs(60);

/// What the `response_url` receiver answers next for a path.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// This status with this body.
    Status(u16, &'static str),
    /// Nothing until long after the test ends (the post is held while `serve` is killed).
    Hold,
}

/// One request as received.
#[derive(Debug, Clone)]
struct Seen {
    /// The path (without the leading `/`).
    path: String,
    /// The body as JSON.
    body: Value,
    /// The status answered (0: held).
    status: u16,
}

/// A loopback stand-in for Slack's and Mattermost's `response_url`: records each post and
/// answers from a per-path plan, else 200 `ok`.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    plans: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    base: String,
}

impl Receiver {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let receiver = Self {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Self::default()
        };
        let state = receiver.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let app = axum::Router::new()
                    .route("/{*rest}", axum::routing::post(receive))
                    .with_state(state);
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await
            })
        });
        receiver
    }

    /// A `response_url` whose path is `path`, tagged so each test's posts are told apart.
    fn url(&self, path: &str, tag: &str) -> String {
        format!("{}/{path}-{tag}", self.base)
    }

    fn plan(&self, url: &str, answers: &[Answer]) {
        let path = url
            .trim_start_matches(&format!("{}/", self.base))
            .to_owned();
        self.plans
            .lock()
            .unwrap()
            .entry(path)
            .or_default()
            .extend(answers.iter().copied());
    }

    /// Every post to `url`, in order.
    fn seen(&self, url: &str) -> Vec<Seen> {
        let path = url.trim_start_matches(&format!("{}/", self.base));
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.path == path).cloned().collect()
    }

    /// The posts to `url` answered 200, in order.
    fn accepted(&self, url: &str) -> Vec<Value> {
        let seen = self.seen(url).into_iter().filter(|s| s.status == 200);
        seen.map(|s| s.body).collect()
    }
}

async fn receive(
    State(r): State<Receiver>,
    UrlPath(path): UrlPath<String>,
    body: Bytes,
) -> Response {
    let planned = r
        .plans
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let (status, text) = match planned {
        Some(Answer::Status(status, text)) => (status, text),
        Some(Answer::Hold) => (0, ""),
        None => (200, "ok"),
    };
    r.seen.lock().unwrap().push(Seen {
        path,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        status,
    });
    if status == 0 {
        tokio::time::sleep(Duration::from_secs(600)).await;
        return StatusCode::OK.into_response();
    }
    (StatusCode::from_u16(status).unwrap(), text).into_response()
}

/// An integration that takes 3 s (past the 2 s after which a command is acknowledged).
const SLOW: &str = "\
import time
def run_integration(query):
    time.sleep(3)
    return 'done ' + query
";

/// An integration whose reply is three Slack messages long (Slack's limit is 4,000).
const LONG: &str = "\
def run_integration(query):
    return ' '.join('w%04d' % i for i in range(1500))
";

/// Which process answers the slash commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    /// `hipkit serve` with its default (outbox) delivery backend.
    Serve,
    /// `hipkit serve` with the `memory` delivery backend: no outbox.
    ServeWithoutOutbox,
    /// Standalone `hipkit integrations` (never an outbox).
    Integrations,
}

/// A test's `serve` (or `hipkit integrations`): its folder, store and log.
struct Serve {
    dir: tempfile::TempDir,
    proc: Proc,
    host: Host,
}

impl Serve {
    fn start() -> Self {
        Self::start_as(Host::Serve)
    }

    fn start_as(host: Host) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let integrations = dir.path().join("integrations");
        std::fs::create_dir(&integrations).unwrap();
        std::fs::write(integrations.join("slow.py"), SLOW).unwrap();
        std::fs::write(integrations.join("long.py"), LONG).unwrap();
        std::fs::write(dir.path().join("signing-secret"), SIGNING_SECRET).unwrap();
        let toml = format!(
            "[integrations]\npath = {:?}\n\
             [integrations.slack]\nsigning_secret = {{ file = {:?} }}\n\
             [integrations.mattermost]\ntokens = [{{ env = \"LATE_MATTERMOST_TOKEN\" }}]\n",
            integrations.display().to_string(),
            dir.path().join("signing-secret").display().to_string(),
        );
        std::fs::write(dir.path().join("hipkit.toml"), toml).unwrap();
        let proc = spawn(dir.path(), host);
        Self { dir, proc, host }
    }

    /// Kills `serve` (SIGKILL, as a crash) and starts it again on the same files.
    fn restart(&mut self) {
        self.proc.kill();
        self.proc = spawn(self.dir.path(), self.host);
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("hipkit.db")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// The outbox's records, as `hipkit outbox list --json` prints them.
    fn outbox(&self) -> Vec<Value> {
        hipkit_bin!().outbox_records(&self.store())
    }

    /// `hipkit outbox list` as a person reads it.
    fn outbox_table(&self) -> String {
        let store = self.store();
        let out = hipkit_bin!().run(
            &["outbox", "list"],
            &[("HIPKIT_STORE", store.to_str().unwrap())],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until there are `n` records, each `state`; the records.
    fn wait_all(&self, n: usize, state: &str) -> Vec<Value> {
        wait_until(&format!("{n} records {state}"), LIMIT, || {
            let all = self.outbox();
            all.len() == n && all.iter().all(|r| r["state"] == state)
        });
        self.outbox()
    }

    /// Slack's `/command text`, signed, answered at `response_url`.
    fn slack(&self, command: &str, text: &str, response_url: &str) -> Value {
        let body = form(command, text, response_url, "unused");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let signed = [
            ("x-slack-request-timestamp", now.to_string()),
            (
                "x-slack-signature",
                slack_sign::slack_signature(SIGNING_SECRET, now, &body),
            ),
        ];
        self.post("/hooks/slack", &signed, body)
    }

    /// Mattermost's `/command text`, answered at `response_url`.
    fn mattermost(&self, command: &str, text: &str, response_url: &str) -> Value {
        let body = form(command, text, response_url, MATTERMOST_TOKEN);
        self.post("/hooks/mattermost", &[], body)
    }

    fn post(&self, path: &str, headers: &[(&str, String)], body: String) -> Value {
        let api = BlockingApi::anonymous(&format!("{}{path}", self.proc.base));
        let mut req = api
            .request(Method::POST, "")
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let (status, _, text) = api.send_text(req.body(body));
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Asserts that neither secret path shows in the log, the banner or `hipkit outbox`.
    fn assert_no_path_shows(&self) {
        let shown = [
            ("the log", self.log()),
            ("the banner", self.proc.lines.concat()),
            (
                "hipkit outbox list --json",
                serde_json::to_string(&self.outbox()).unwrap(),
            ),
            ("hipkit outbox list", self.outbox_table()),
        ];
        for (place, text) in &shown {
            for secret in [
                "late-slack-s3cret",
                "late-mm-s3cret",
                "commands/T0",
                SIGNING_SECRET,
                MATTERMOST_TOKEN,
            ] {
                assert!(!text.contains(secret), "{secret} shows in {place}:\n{text}");
            }
        }
    }
}

fn spawn(dir: &Path, host: Host) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("serve.log"))
        .unwrap();
    let cfg = dir.join("hipkit.toml");
    let store = dir.join("hipkit.db");
    let (command, last) = match host {
        Host::Serve | Host::ServeWithoutOutbox => ("serve", "delivery:"),
        Host::Integrations => ("integrations", "helpers:"),
    };
    let backend = match host {
        Host::ServeWithoutOutbox => "memory",
        Host::Serve | Host::Integrations => "outbox",
    };
    hipkit_bin!().spawn_logging(
        &[command, "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_BACKEND", backend),
            ("HIPKIT_CONFIG", cfg.to_str().unwrap()),
            ("HIPKIT_STORE", store.to_str().unwrap()),
            ("HIPKIT_LOG", "debug"),
            ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "50"),
            ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "500"),
            ("LATE_MATTERMOST_TOKEN", MATTERMOST_TOKEN),
            // Nothing here goes to HipChat: no built-in emulator (whose port is fixed).
            ("HIPCHAT_ENDPOINT", "http://127.0.0.1:9"),
            ("HIPCHAT_API_TOKEN", "unused"),
        ],
        last,
        Stdio::from(log),
    )
}

/// A slash-command form body.
fn form(command: &str, text: &str, response_url: &str, token: &str) -> String {
    let enc = |v: &str| {
        v.replace('%', "%25")
            .replace('/', "%2F")
            .replace(':', "%3A")
            .replace(' ', "+")
    };
    format!(
        "token={}&team_id=T0001&team_domain=acme&channel_id=C1&channel_name=ops&\
         user_id=U2147483697&user_name=steve&command={}&text={}&response_url={}",
        enc(token),
        enc(command),
        enc(text),
        enc(response_url)
    )
}

/// The text a response shows (a coloured reply is an attachment).
fn shown(body: &Value) -> &str {
    body["attachments"][0]["text"]
        .as_str()
        .or(body["text"].as_str())
        .unwrap_or_default()
}

/// `/slow` sent from Slack and from Mattermost to `host`, each with a response_url (named
/// by `tag`) whose first post the receiver answers with a 5xx; both acknowledged at once.
/// Returns the Slack and Mattermost URLs.
fn slow_on_both_after_a_5xx(host: &Serve, receiver: &Receiver, tag: &str) -> (String, String) {
    let slack_url = receiver.url(SLACK_PATH, tag);
    let mm_url = receiver.url(MATTERMOST_PATH, tag);
    receiver.plan(&slack_url, &[Answer::Status(500, "upstream hiccup")]);
    receiver.plan(&mm_url, &[Answer::Status(503, "busy")]);
    let ack = host.slack("/slow", "work", &slack_url);
    assert_eq!(
        ack,
        json!({"response_type": "ephemeral", "text": "/slow is running; its answer follows here."})
    );
    let ack = host.mattermost("/slow", "there", &mm_url);
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    (slack_url, mm_url)
}

#[test]
fn a_late_reply_is_retried_after_a_5xx_and_arrives_once_showing_no_path() {
    let receiver = Receiver::start();
    let serve = Serve::start();
    assert!(
        serve.proc.lines.concat().contains("through the outbox"),
        "{:?}",
        serve.proc.lines
    );
    let (slack_url, mm_url) = slow_on_both_after_a_5xx(&serve, &receiver, "retry");

    let records = serve.wait_all(2, "delivered");
    let slack = receiver.seen(&slack_url);
    let statuses: Vec<u16> = slack.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [500, 200],
        "retried after the 500, then taken once"
    );
    let taken = receiver.accepted(&slack_url);
    assert_eq!(taken.len(), 1);
    assert_eq!(shown(&taken[0]), "done work", "{taken:?}");
    assert_eq!(taken[0]["response_type"], "in_channel", "{taken:?}");
    let taken = receiver.accepted(&mm_url);
    assert_eq!(taken.len(), 1, "{:?}", receiver.seen(&mm_url));
    assert_eq!(shown(&taken[0]), "done there", "{taken:?}");

    // Listed with the URL's scheme and host only, by the courier of its platform.
    let port = receiver.base.trim_start_matches("http://");
    let destinations: Vec<&str> = records
        .iter()
        .map(|r| r["destination"].as_str().unwrap())
        .collect();
    for via in ["slack:response_url", "mattermost:response_url"] {
        let want = format!("http://{port}/<redacted> via {via}");
        assert!(
            destinations.contains(&want.as_str()),
            "{want} not in {destinations:?}"
        );
    }
    let table = serve.outbox_table();
    assert!(
        table.contains(&format!("http://{port}/<redacted>")),
        "{table}"
    );
    let log = serve.log();
    assert!(
        log.contains("late reply posted"),
        "the log says what happened: {log}"
    );
    serve.assert_no_path_shows();
}

#[test]
fn a_long_replys_later_parts_follow_in_order_through_the_outbox() {
    let receiver = Receiver::start();
    let serve = Serve::start();
    let url = receiver.url(SLACK_PATH, "long");
    receiver.plan(&url, &[Answer::Status(502, "bad gateway")]);
    let first = serve.slack("/long", "", &url);
    assert!(shown(&first).starts_with("(1/3) w0000 "), "{first}");
    serve.wait_all(2, "delivered");
    let parts: Vec<String> = receiver
        .accepted(&url)
        .iter()
        .map(|b| shown(b).chars().take(6).collect())
        .collect();
    assert_eq!(parts, ["(2/3) ", "(3/3) "], "in order, each once");
    serve.assert_no_path_shows();
}

#[test]
fn a_late_reply_queued_before_serve_is_killed_arrives_after_the_restart() {
    let receiver = Receiver::start();
    let mut serve = Serve::start();
    let url = receiver.url(SLACK_PATH, "crash");
    // The first post is held unanswered: `serve` dies while sending it.
    receiver.plan(&url, &[Answer::Hold]);
    let ack = serve.slack("/slow", "crash", &url);
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    wait_until("the first post", LIMIT, || !receiver.seen(&url).is_empty());
    serve.restart();
    wait_until("the reply after the restart", LIMIT, || {
        !receiver.accepted(&url).is_empty()
    });
    let records = serve.wait_all(1, "delivered");
    assert_eq!(
        records[0]["attempts"], 2,
        "the held one and one after the restart"
    );
    let taken = receiver.accepted(&url);
    assert_eq!(taken.len(), 1, "{:?}", receiver.seen(&url));
    assert_eq!(shown(&taken[0]), "done crash", "{taken:?}");
    serve.assert_no_path_shows();
}

#[test]
fn a_refused_reply_is_dead_lettered_with_the_platforms_answer() {
    let receiver = Receiver::start();
    let serve = Serve::start();
    let slack_url = receiver.url(SLACK_PATH, "gone");
    let mm_url = receiver.url(MATTERMOST_PATH, "gone");
    receiver.plan(&slack_url, &[Answer::Status(404, "expired_url")]);
    receiver.plan(&mm_url, &[Answer::Status(410, "used_url")]);
    serve.slack("/slow", "late", &slack_url);
    serve.mattermost("/slow", "late", &mm_url);
    let records = serve.wait_all(2, "dead");
    for (answer, via) in [("404", "slack:"), ("410", "mattermost:")] {
        let record = records
            .iter()
            .find(|r| r["destination"].as_str().unwrap().contains(via))
            .unwrap();
        let error = record["last_error"].as_str().unwrap();
        assert!(error.contains(answer), "{error}");
        assert_eq!(record["attempts"], 1, "{record}");
    }
    let errors: String = records
        .iter()
        .map(|r| r["last_error"].to_string())
        .collect();
    assert!(
        errors.contains("expired_url") && errors.contains("used_url"),
        "{errors}"
    );
    assert_eq!(receiver.seen(&slack_url).len(), 1, "not retried");
    assert_eq!(receiver.seen(&mm_url).len(), 1, "not retried");
    serve.assert_no_path_shows();
}

/// Where late replies are posted directly: the banner says so, nothing is queued in the
/// store's outbox (a `serve` sharing the store would claim it), and the log says what
/// became of each reply without the URL's path.
fn assert_direct(host: &Serve) {
    let banner = host.proc.lines.concat();
    assert!(
        banner.contains(
            "posted to response_url directly, retried in memory: lost if the process stops"
        ),
        "{banner}"
    );
    assert!(!banner.contains("through the outbox"), "{banner}");
    assert_eq!(
        host.outbox(),
        Vec::<Value>::new(),
        "nothing queued in the outbox"
    );
    host.assert_no_path_shows();
}

#[test]
fn without_an_outbox_a_late_reply_is_posted_directly_retried_after_a_5xx_and_arrives_once() {
    let receiver = Receiver::start();
    let host = Serve::start_as(Host::Integrations);
    let (slack_url, mm_url) = slow_on_both_after_a_5xx(&host, &receiver, "direct");

    wait_until("both replies taken", LIMIT, || {
        !receiver.accepted(&slack_url).is_empty() && !receiver.accepted(&mm_url).is_empty()
    });
    for (url, status, text) in [(&slack_url, 500, "done work"), (&mm_url, 503, "done there")] {
        let statuses: Vec<u16> = receiver.seen(url).iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            [status, 200],
            "retried after the {status}, then taken once"
        );
        let taken = receiver.accepted(url);
        assert_eq!(shown(&taken[0]), text, "{taken:?}");
        assert_eq!(taken[0]["response_type"], "in_channel", "{taken:?}");
    }
    let log = host.log();
    assert!(log.contains("trying again in memory"), "{log}");
    assert!(log.contains("late reply posted"), "{log}");
    assert_direct(&host);
}

#[test]
fn without_an_outbox_a_long_replys_later_parts_follow_in_order() {
    let receiver = Receiver::start();
    let host = Serve::start_as(Host::Integrations);
    let url = receiver.url(SLACK_PATH, "direct-long");
    receiver.plan(&url, &[Answer::Status(502, "bad gateway")]);
    let first = host.slack("/long", "", &url);
    assert!(shown(&first).starts_with("(1/3) w0000 "), "{first}");
    wait_until("both later parts taken", LIMIT, || {
        receiver.accepted(&url).len() == 2
    });
    let parts: Vec<String> = receiver
        .accepted(&url)
        .iter()
        .map(|b| shown(b).chars().take(6).collect())
        .collect();
    assert_eq!(parts, ["(2/3) ", "(3/3) "], "in order, each once");
    let statuses: Vec<u16> = receiver.seen(&url).iter().map(|s| s.status).collect();
    assert_eq!(statuses, [502, 200, 200]);
    assert_direct(&host);
}

#[test]
fn without_an_outbox_a_refusal_ends_a_late_reply_after_one_post() {
    let receiver = Receiver::start();
    // `serve` with another delivery backend has no outbox either.
    let host = Serve::start_as(Host::ServeWithoutOutbox);
    let url = receiver.url(SLACK_PATH, "direct-gone");
    receiver.plan(&url, &[Answer::Status(404, "expired_url")]);
    let ack = host.slack("/slow", "late", &url);
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    wait_until("the refusal logged", LIMIT, || {
        host.log().contains("late reply refused")
    });
    let log = host.log();
    assert!(log.contains("404") && log.contains("expired_url"), "{log}");
    assert_eq!(receiver.seen(&url).len(), 1, "not retried");
    // A long reply refused at its second part: its third is not posted.
    let long = receiver.url(SLACK_PATH, "direct-gone-long");
    receiver.plan(&long, &[Answer::Status(410, "used_url")]);
    let first = host.slack("/long", "", &long);
    assert!(shown(&first).starts_with("(1/3)"), "{first}");
    wait_until("the second refusal logged", LIMIT, || {
        host.log().contains("used_url")
    });
    assert_eq!(
        receiver.seen(&long).len(),
        1,
        "the part after the refusal is not posted"
    );
    assert_direct(&host);
}
