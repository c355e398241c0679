//! A real stack over loopback for the integration tests: the emulator, a SQLite store in a
//! temporary folder, an integrations folder, and a `hipkit_server::Server` serving the hooks
//! and the admin storage routes.
#![allow(dead_code)]

use hipkit_integrations::runtime::python::HipChatTarget;
use hipkit_integrations::{Integrations, IntegrationsConfig, Options};
use hipkit_server::{Server, ServerConfig};
use hipkit_store::SqliteStore;
use hipkit_testkit::{Api, Emulator, EmulatorBuilder, wait_until_async};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The emulator's all-scopes token (also the integrations' HipChat token).
pub const TOKEN: &str = "integrations-test-token";
/// The admin (API) token of the server.
pub const ADMIN: &str = "integrations-admin-token";

/// Whether the process whose pid `file` holds still runs (neither gone nor a zombie).
pub fn runs(file: &Path) -> bool {
    let Ok(pid) = std::fs::read_to_string(file) else {
        return false;
    };
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            Some(!rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Waits until the process whose pid `file` holds has ended; panics with `what` if it still
/// runs after 10 s.
pub async fn wait_ended(file: &Path, what: &str) {
    wait_until_async(what, Duration::from_secs(10), || async { !runs(file) }).await;
}

/// Checks that the integrations folder, left alone, is not scanned again: scanning it and
/// running its integrations read it, which must not count as a change.
pub async fn assert_folder_stays_quiet(integrations: &Integrations) {
    // Lets a burst of real changes (already being waited for) settle first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = integrations.scans();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        integrations.scans(),
        before,
        "a folder nobody changed was rescanned"
    );
}

/// Writes `text` to `dir/name` with `mode`.
pub fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The emulator with the room Build Room and the all-scopes [`TOKEN`].
pub fn emulator_builder() -> EmulatorBuilder {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Build Room"])
}

/// [`emulator_builder`], started.
pub async fn emulator() -> Emulator {
    emulator_builder().start().await
}

/// The id of the emulator's `Build Room`.
pub async fn room_id(emu: &Emulator) -> u64 {
    let room = emu.api().get("/v2/room/Build%20Room").await;
    room["id"].as_u64().expect("room id")
}

/// A running server with integrations from `dir`.
pub struct Stack {
    /// The server's base URL.
    pub base: String,
    /// The integrations.
    pub integrations: Integrations,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Stack {
    /// Starts integrations from `dir` with `config` (its `path` is set to `dir`), storage in
    /// `db`, helpers pointed at `emu`.
    pub async fn start(
        dir: &Path,
        db: &Path,
        emu: &Emulator,
        mut config: IntegrationsConfig,
    ) -> Self {
        Self::try_start(dir, db, emu, {
            config.path = Some(dir.to_path_buf());
            config
        })
        .await
        .expect("integrations start")
    }

    /// Like [`Stack::start`], returning the start-up error.
    pub async fn try_start(
        dir: &Path,
        db: &Path,
        emu: &Emulator,
        mut config: IntegrationsConfig,
    ) -> Result<Self, hipkit_integrations::IntegrationsError> {
        config.path.get_or_insert_with(|| dir.to_path_buf());
        let store = Arc::new(SqliteStore::open(db).await.expect("store"));
        let integrations = Integrations::start(Options {
            config,
            store,
            hipchat: HipChatTarget {
                endpoint: emu.base_url.clone(),
                insecure: false,
                timeout_secs: 10,
            },
        })
        .await?;
        let server = Server::new(ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            api_token: Some(hipchat::Token::new(ADMIN)),
            ..ServerConfig::default()
        })
        .mount(integrations.hook_routes(true))
        .merge_protected(integrations.admin_router());
        let bound = server.bind().await.expect("bind");
        let base = format!("http://{}", bound.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            integrations,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The store of integration storage.
    pub fn store(&self) -> std::sync::Arc<dyn hipkit_store::KvStore> {
        self.integrations.store()
    }

    /// Stops the server and the Python hosts.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.integrations.shutdown().await;
    }

    /// A client for the server sending the admin token.
    pub fn admin(&self) -> Api {
        Api::new(&self.base, ADMIN)
    }

    /// POSTs `body` to `path`; returns the status and the JSON body (null when empty, a
    /// string when it is not JSON).
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let req = Api::anonymous(&self.base)
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body);
        let (status, _, text) = Api::send_text(req).await;
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// POSTs a `room_message` webhook with `message` in `room` to `/hooks/hipchat`.
    pub async fn command(&self, room: u64, message: &str) -> (u16, Value) {
        self.post_raw(
            "/hooks/hipchat",
            serde_json::to_vec(&webhook(room, message)).unwrap(),
        )
        .await
    }

    /// The reply's message text (panics on a 204).
    pub async fn reply_text(&self, room: u64, message: &str) -> String {
        let (status, body) = self.command(room, message).await;
        assert_eq!(status, 200, "{body}");
        body["message"].as_str().expect("reply message").to_owned()
    }
}

/// A `room_message` webhook as HipChat sends it.
pub fn webhook(room: u64, message: &str) -> Value {
    json!({
        "event": "room_message",
        "item": {
            "message": {
                "date": "2026-12-02T10:11:12.123456+00:00",
                "from": {"id": 1001, "links": {"self": "https://api.hipchat.com/v2/user/1001"},
                         "mention_name": "alice", "name": "Alice Smith", "version": "00000000"},
                "id": "0f3a9c2e-1111-2222-3333-444455556666",
                "mentions": [],
                "message": message,
                "type": "message"
            },
            "room": {"id": room, "is_archived": false, "links": {"self": "https://api.hipchat.com/v2/room/1"},
                     "name": "Build Room", "privacy": "public", "version": "ABCD1234"}
        },
        "oauth_client_id": "c0ffee00-aaaa-bbbb-cccc-ddddeeeeffff",
        "webhook_id": 578829
    })
}

/// The tokens the seed example needs in `room` (its `file_uploader` token and its room's),
/// over `config`.
pub fn seed_example_config(room: u64, config: IntegrationsConfig) -> IntegrationsConfig {
    IntegrationsConfig {
        tokens: vec![
            format!("file_uploader:{TOKEN}").parse().unwrap(),
            format!("{room}:example:{TOKEN}").parse().unwrap(),
        ],
        ..config
    }
}

/// A temporary folder for integrations and one for the database.
pub fn folders() -> (tempfile::TempDir, PathBuf, tempfile::TempDir) {
    let scripts = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("hipkit.db");
    (scripts, db, data)
}
