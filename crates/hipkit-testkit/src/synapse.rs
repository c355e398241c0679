//! A real Matrix homeserver for tests: Synapse (from PyPI, in the virtualenv `scripts/test`
//! creates at `target/synapse-venv`), on a free 127.0.0.1 port with a throwaway config in a
//! temporary directory (SQLite, client API only, no federation, registration by shared secret
//! only), killed on drop.

use crate::api::Api;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Synapse version `scripts/test` installs.
pub const SYNAPSE_VERSION: &str = "1.163.2";

/// How long Synapse may take to answer after its start (first start creates its SQLite schema;
/// about 10 s on an idle 2-core machine): only a bound that turns a hang into a failure.
const START_LIMIT: Duration = Duration::from_secs(180);

/// A user registered on the homeserver, logged in (no `Debug`: it holds the access token).
#[derive(Clone)]
pub struct MatrixUser {
    /// `@localpart:server_name`.
    pub user_id: String,
    /// The access token a client sends as `Authorization: Bearer`.
    pub access_token: String,
}

/// A running Synapse, killed (SIGKILL) and its directory removed on drop.
pub struct Synapse {
    child: Child,
    base: String,
    server_name: String,
    shared_secret: String,
    venv: PathBuf,
    started_in: Duration,
    dir: tempfile::TempDir,
}

impl Synapse {
    /// Starts Synapse with the kit's config (rate limits high enough for tests) and waits until
    /// its client API answers. Panics, saying what is missing, when Synapse is not installed.
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// [`Synapse::start`] with `extra` YAML appended to the config (a top-level key given again
    /// replaces the kit's: e.g. a low `rc_message` to see Synapse's 429s).
    pub async fn start_with(extra: &str) -> Self {
        let venv = venv();
        let python = venv.join("bin/python");
        assert!(
            python.exists(),
            "Synapse is not installed: {} is missing; scripts/test installs matrix-synapse=={SYNAPSE_VERSION} \
             into target/synapse-venv (python3 -m venv target/synapse-venv && target/synapse-venv/bin/pip install \
             matrix-synapse=={SYNAPSE_VERSION}), or set SYNAPSE_VENV to a virtualenv that has it",
            python.display()
        );
        let dir = tempfile::tempdir().expect("tempdir for Synapse");
        let port = free_port();
        let server_name = "hipkit.test".to_owned();
        let shared_secret = random_hex();
        let config = config(dir.path(), port, &server_name, &shared_secret) + "\n" + extra;
        let config_path = dir.path().join("homeserver.yaml");
        std::fs::write(&config_path, config).expect("write homeserver.yaml");
        std::fs::write(dir.path().join("signing.key"), SIGNING_KEY).expect("write signing.key");
        let log = std::fs::File::create(dir.path().join("synapse.log")).expect("synapse.log");
        let started = Instant::now();
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config_path)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("synapse.log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("spawn {} -m synapse.app.homeserver: {e}", python.display())
            });
        let mut synapse = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            server_name,
            shared_secret,
            venv,
            started_in: Duration::ZERO,
            dir,
        };
        synapse.wait_ready().await;
        synapse.started_in = started.elapsed();
        synapse
    }

    async fn wait_ready(&mut self) {
        let api = Api::anonymous(&self.base);
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "Synapse exited ({status}) before answering:\n{}",
                    self.log_tail()
                );
            }
            let req = api.request(Method::GET, "/_matrix/client/versions");
            if matches!(Api::try_send_text(req).await, Ok((200, _, _))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Synapse did not answer within {START_LIMIT:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The end of Synapse's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("synapse.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `http://127.0.0.1:PORT`: the homeserver URL a client is given.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The server name in its user and room ids (`hipkit.test`).
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// How long it took from spawning Synapse to its first answer.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// A client of the homeserver sending `user`'s access token.
    pub fn api(&self, user: &MatrixUser) -> Api {
        Api::new(&self.base, &user.access_token)
    }

    /// Registers `localpart` through Synapse's admin shared-secret registration API (with
    /// Synapse's own `register_new_matrix_user`), then logs it in.
    pub async fn register(&self, localpart: &str) -> MatrixUser {
        let password = random_hex();
        // The module rather than the console script, whose shebang names the venv's first path.
        let out = tokio::process::Command::new(self.venv.join("bin/python"))
            .args(["-m", "synapse._scripts.register_new_matrix_user"])
            .args([
                "--no-admin",
                "-u",
                localpart,
                "-p",
                &password,
                "-k",
                &self.shared_secret,
            ])
            .arg(&self.base)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run register_new_matrix_user");
        assert!(
            out.status.success(),
            "register_new_matrix_user {localpart}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let login = json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": localpart },
            "password": password,
        });
        let (status, _, body) = Api::anonymous(&self.base)
            .call(Method::POST, "/_matrix/client/v3/login", Some(login))
            .await;
        assert_eq!(status, 200, "login {localpart}: {body}");
        MatrixUser {
            user_id: body["user_id"].as_str().expect("user_id").to_owned(),
            access_token: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
        }
    }

    /// Creates a private room owned by `owner`; its room id.
    pub async fn create_room(&self, owner: &MatrixUser, name: &str) -> String {
        let (status, _, body) = self
            .api(owner)
            .call(
                Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(json!({ "name": name, "preset": "private_chat" })),
            )
            .await;
        assert_eq!(status, 200, "createRoom: {body}");
        body["room_id"].as_str().expect("room_id").to_owned()
    }

    /// Invites `user` to `room` (as `owner`) and joins it as `user`.
    pub async fn join(&self, owner: &MatrixUser, room: &str, user: &MatrixUser) {
        let room = encode(room);
        let invite = json!({ "user_id": user.user_id });
        let path = format!("/_matrix/client/v3/rooms/{room}/invite");
        let (status, _, body) = self
            .api(owner)
            .call(Method::POST, &path, Some(invite))
            .await;
        assert_eq!(status, 200, "invite: {body}");
        let path = format!("/_matrix/client/v3/rooms/{room}/join");
        let (status, _, body) = self
            .api(user)
            .call(Method::POST, &path, Some(json!({})))
            .await;
        assert_eq!(status, 200, "join: {body}");
    }

    /// Every `m.room.message` event of `room`, oldest first, read as `reader` through
    /// `/_matrix/client/v3/rooms/{id}/messages`.
    pub async fn messages(&self, reader: &MatrixUser, room: &str) -> Vec<Value> {
        let api = self.api(reader);
        let mut events = Vec::new();
        let mut from: Option<String> = None;
        loop {
            let mut path = format!(
                "/_matrix/client/v3/rooms/{}/messages?dir=f&limit=100",
                encode(room)
            );
            if let Some(token) = &from {
                path.push_str(&format!("&from={}", encode(token)));
            }
            let (status, _, body) = api.call(Method::GET, &path, None).await;
            assert_eq!(status, 200, "GET {path}: {body}");
            let chunk = body["chunk"].as_array().cloned().unwrap_or_default();
            if chunk.is_empty() {
                return events;
            }
            events.extend(chunk.into_iter().filter(|e| e["type"] == "m.room.message"));
            match body["end"].as_str() {
                Some(end) => from = Some(end.to_owned()),
                None => return events,
            }
        }
    }

    /// Sends `content` as an `m.room.message` to `room` as `sender` with transaction id `txn`;
    /// the event id. Panics on any answer but 200.
    pub async fn send(
        &self,
        sender: &MatrixUser,
        room: &str,
        txn: &str,
        content: &Value,
    ) -> String {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
            encode(room),
            encode(txn)
        );
        let (status, _, body) = self
            .api(sender)
            .call(Method::PUT, &path, Some(content.clone()))
            .await;
        assert_eq!(status, 200, "PUT {path}: {body}");
        body["event_id"].as_str().expect("event_id").to_owned()
    }

    /// The ids of the events that notified `user` (its push rules said `notify`), newest first,
    /// from `/_matrix/client/v3/notifications`.
    pub async fn notified(&self, user: &MatrixUser) -> Vec<String> {
        let path = "/_matrix/client/v3/notifications?limit=1000";
        let (status, _, body) = self.api(user).call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body["notifications"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["event"]["event_id"].as_str().map(str::to_owned))
            .collect()
    }

    /// Kills Synapse at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The virtualenv with Synapse: `SYNAPSE_VENV`, else the workspace's `target/synapse-venv`.
fn venv() -> PathBuf {
    std::env::var_os("SYNAPSE_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/synapse-venv"),
        PathBuf::from,
    )
}

pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// 32 random hex digits (secrets and passwords of a throwaway server).
pub(crate) fn random_hex() -> String {
    let a = RandomState::new().hash_one(Instant::now());
    let b = RandomState::new().hash_one(std::process::id());
    format!("{a:016x}{b:016x}")
}

/// A path segment or query value with everything but unreserved characters percent-encoded
/// (room ids carry `!` and `:`, pagination tokens `_`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A fixed ed25519 signing key: the server never federates, so its key signs nothing that
/// leaves it (saves a `--generate-keys` run).
const SIGNING_KEY: &str = "ed25519 a_test WWW90Mc3UHSCMUsjJusE9hZrs0zU8E7fjHZNWbFiQgo\n";

/// The homeserver config: loopback client listener, SQLite, no federation, no registration but
/// by shared secret, cheap password hashing, rate limits far above what tests send.
fn config(dir: &Path, port: u16, server_name: &str, shared_secret: &str) -> String {
    let dir = dir.display();
    format!(
        r#"server_name: "{server_name}"
pid_file: "{dir}/homeserver.pid"
public_baseurl: "http://127.0.0.1:{port}/"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
media_store_path: "{dir}/media_store"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{shared_secret}"
enable_registration: false
macaroon_secret_key: "{shared_secret}-macaroon"
form_secret: "{shared_secret}-form"
bcrypt_rounds: 4
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
url_preview_enabled: false
presence:
  enabled: false
rc_message:
  per_second: 1000
  burst_count: 1000
rc_registration:
  per_second: 1000
  burst_count: 1000
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness itself: a message sent with a transaction id is read back, and the same
    /// PUT repeated gives the same event, once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_sent_twice_with_one_txn_id_is_one_event_read_back() {
        let synapse = Synapse::start().await;
        eprintln!(
            "Synapse {SYNAPSE_VERSION} answered {:?} after its spawn",
            synapse.started_in()
        );
        let bridge = synapse.register("bridge").await;
        let reader = synapse.register("reader").await;
        assert_eq!(bridge.user_id, "@bridge:hipkit.test");
        let room = synapse.create_room(&bridge, "Build Room").await;
        synapse.join(&bridge, &room, &reader).await;

        let api = synapse.api(&bridge);
        let path = format!(
            "/_matrix/client/v3/rooms/{}/send/m.room.message/hipkit-parcel-1",
            encode(&room)
        );
        let content = json!({ "msgtype": "m.text", "body": "build 42 passed" });
        let (status, _, first) = api.call(Method::PUT, &path, Some(content.clone())).await;
        assert_eq!(status, 200, "{first}");
        let (status, _, again) = api.call(Method::PUT, &path, Some(content)).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            first["event_id"], again["event_id"],
            "a retried PUT is the same event"
        );

        let events = synapse.messages(&reader, &room).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["event_id"], first["event_id"]);
        assert_eq!(events[0]["sender"], "@bridge:hipkit.test");
        assert_eq!(events[0]["content"]["body"], "build 42 passed");
    }

    #[test]
    fn room_ids_and_tokens_are_percent_encoded() {
        assert_eq!(encode("!abc:hipkit.test"), "%21abc%3Ahipkit.test");
        assert_eq!(encode("t1-2_3~"), "t1-2_3~");
    }
}
