//! [`Integrations`]: the folder's integrations, their runtimes, tokens and storage, and the
//! webhook handler that ties intake, authentication, routing, running and replying together.

use crate::command::{self, Command};
use crate::config::IntegrationsConfig;
use crate::error::IntegrationsError;
use crate::intake::{self, IntakeError, Webhook};
use crate::jwt;
use crate::registry::{self, Entry, Kind};
use crate::reply::Reply;
use crate::runtime::exec::ExecRuntime;
use crate::runtime::python::{HipChatTarget, PythonRuntime, check_python};
use crate::runtime::{CallError, Invocation, Limits, Returned};
use crate::slash::late::LateReplies;
use crate::slash::verify::SlashAuth;
use crate::slash::{ChannelRooms, Unmapped};
use crate::tokens::{self, TokenSpec, Tokens};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hipkit_server::{ApiError, RequestDeadline, Routes, TimedBody};
use hipkit_store::KvStore;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// What [`Integrations::start`] needs besides the `[integrations]` section.
pub struct Options {
    /// The `[integrations]` section (its folder must be set).
    pub config: IntegrationsConfig,
    /// Where integration storage lives.
    pub store: Arc<dyn KvStore>,
    /// Where the Python helpers send HipChat requests.
    pub hipchat: HipChatTarget,
}

/// The running integrations; cheap to clone.
#[derive(Clone)]
pub struct Integrations {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integrations")
            .field("dir", &self.inner.dir)
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: IntegrationsConfig,
    dir: PathBuf,
    tokens: Tokens,
    store: Arc<dyn KvStore>,
    registry: RwLock<BTreeMap<String, Entry>>,
    python: PythonRuntime,
    exec: ExecRuntime,
    next_call: AtomicU64,
    last_rescan: Mutex<Option<std::time::Instant>>,
    scans: AtomicU64,
    watcher: Mutex<Option<RecommendedWatcher>>,
    slash_auth: SlashAuth,
    channel_rooms: RwLock<Arc<dyn ChannelRooms>>,
    /// Late replies through `serve`'s outbox, when it has one.
    late_through_outbox: OnceLock<LateReplies>,
    /// Late replies posted directly, retried in memory: where there is no outbox.
    late_direct: LateReplies,
}

impl IntegrationsConfig {
    /// Every token spec of the configuration: `tokens`, then the tokens file's (read now).
    pub fn token_specs(&self) -> Result<Vec<TokenSpec>, IntegrationsError> {
        let mut specs = self.tokens.clone();
        if let Some(path) = &self.tokens_file {
            let text =
                std::fs::read_to_string(path).map_err(|source| IntegrationsError::TokensFile {
                    path: path.clone(),
                    source,
                })?;
            specs.extend(tokens::parse_file(&text).map_err(|source| {
                IntegrationsError::TokensFileSpec {
                    path: path.clone(),
                    source,
                }
            })?);
        }
        Ok(specs)
    }
}

/// Every token of the configuration, checked.
fn collect_tokens(config: &IntegrationsConfig) -> Result<Tokens, IntegrationsError> {
    Ok(Tokens::new(&config.token_specs()?)?)
}

impl Integrations {
    /// Scans the folder, checks Python when `.py` integrations are there, reads the tokens
    /// and starts watching the folder (when `watch` is on). Hosts start at their first call.
    pub async fn start(options: Options) -> Result<Self, IntegrationsError> {
        let Options {
            config,
            store,
            hipchat,
        } = options;
        let dir = config.path.clone().ok_or(IntegrationsError::NoFolder)?;
        let tokens = collect_tokens(&config)?;
        let found = registry::scan(&dir)?;
        let scripts: Vec<String> = found
            .values()
            .filter(|e| e.kind == Kind::Python)
            .map(|e| format!("{}.py", e.name))
            .collect();
        if !scripts.is_empty() {
            check_python(&config.python, &scripts.join(", ")).await?;
        }
        let limits = Limits {
            timeout: config.timeout(),
            concurrency: config.concurrency.max(1),
            max_output_bytes: config.max_output_bytes.max(1),
            quota: crate::runtime::quota::Quota {
                max_bytes: config.storage_max_bytes,
                max_keys: config.storage_max_keys,
            },
        };
        let python = PythonRuntime::new(&config.python, hipchat, limits, store.clone())?;
        let slash_auth = SlashAuth::from_config(&config)?;
        let late_direct = LateReplies::direct().map_err(IntegrationsError::ReplyClient)?;
        let inner = Arc::new(Inner {
            exec: ExecRuntime::new(limits, store.clone()),
            dir,
            tokens,
            store,
            registry: RwLock::new(found),
            python,
            next_call: AtomicU64::new(1),
            last_rescan: Mutex::new(None),
            scans: AtomicU64::new(0),
            watcher: Mutex::new(None),
            slash_auth,
            channel_rooms: RwLock::new(Arc::new(Unmapped)),
            late_through_outbox: OnceLock::new(),
            late_direct,
            config,
        });
        if inner.config.watch {
            let watcher = watch(Arc::downgrade(&inner))?;
            *inner.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(watcher);
        }
        Ok(Self { inner })
    }

    /// The integrations' names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.inner.registry().keys().cloned().collect()
    }

    /// How many tokens are configured.
    pub fn token_count(&self) -> usize {
        self.inner.tokens.len()
    }

    /// The `[integrations]` section it runs.
    pub(crate) fn config(&self) -> &IntegrationsConfig {
        &self.inner.config
    }

    /// The folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.inner.dir
    }

    /// The store holding integration storage.
    pub fn store(&self) -> Arc<dyn KvStore> {
        self.inner.store.clone()
    }

    /// Reads the folder again; returns the names added, changed or removed (their hosts are
    /// retired, so the next call loads the new file).
    pub async fn rescan(&self) -> Result<Vec<String>, registry::ScanError> {
        self.inner.rescan().await
    }

    /// Runs `op` on `name`'s storage while none of its calls run; the next call sees the
    /// result (used by the admin storage endpoints).
    pub async fn storage_exclusive<T>(
        &self,
        name: &str,
        op: impl std::future::Future<Output = T>,
    ) -> T {
        self.inner.python.with_storage_exclusive(name, op).await
    }

    /// The webhook routes: `POST /hooks/hipchat`, `/hooks/slack`, `/hooks/mattermost`, and
    /// `POST /` with `root`. They answer by
    /// the request's deadline themselves (a call's own timeout is reported as a reply).
    pub fn hook_routes(&self, root: bool) -> Routes {
        let mut router = Router::new()
            .route("/hooks/hipchat", post(hook))
            .route("/hooks/slack", post(crate::slash::slack))
            .route("/hooks/mattermost", post(crate::slash::mattermost));
        if root {
            router = router.route("/", post(hook));
        }
        Routes::public(router.with_state(self.clone())).timed_by_handler()
    }

    /// The admin storage routes, for `Server::merge_protected`.
    pub fn admin_router(&self) -> Router {
        crate::storage::router(self.clone())
    }

    /// Mounts [`Integrations::routes`] on `server` (the admin routes behind its API token).
    pub fn mount(&self, server: hipkit_server::Server, root: bool) -> hipkit_server::Server {
        let with_token = server.config().api_token.is_some();
        self.routes(root, with_token)
            .into_iter()
            .fold(server, hipkit_server::Server::mount)
    }

    /// Handles one webhook body (the HTTP handler's work, without HTTP).
    pub async fn handle(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
        deadline: Instant,
    ) -> Response {
        match self.inner.handle(headers, query, body, deadline).await {
            Ok(reply) => reply.into_response(),
            Err(e) => e.into_response(),
        }
    }

    /// How many times the folder has been scanned since the start (folder events, unknown
    /// commands and explicit rescans): a diagnostic that shows a quiet folder stays quiet.
    pub fn scans(&self) -> u64 {
        self.inner.scans.load(Ordering::Relaxed)
    }

    /// Loads each integration of the folder once (`hipkit check`): a Python one in a host
    /// that is stopped again, an executable as found by the scan. Each name with why it
    /// cannot load.
    pub async fn probe(&self) -> Vec<(String, Result<Kind, CallError>)> {
        let entries: Vec<Entry> = self.inner.registry().values().cloned().collect();
        let mut verdicts = Vec::with_capacity(entries.len());
        for entry in entries {
            let loaded = match entry.kind {
                Kind::Python => self.inner.python.probe(&entry.path, &entry.name).await,
                Kind::Executable => Ok(()),
            };
            verdicts.push((entry.name, loaded.map(|()| entry.kind)));
        }
        verdicts
    }

    /// Maps Slack and Mattermost channels to HipChat rooms (the bridge's `[[bridge.rooms]]`);
    /// without it every channel is a room of its own.
    pub fn map_channels(&self, rooms: Arc<dyn ChannelRooms>) {
        *self
            .inner
            .channel_rooms
            .write()
            .unwrap_or_else(|p| p.into_inner()) = rooms;
    }

    /// The channel mapping in use.
    pub(crate) fn channel_rooms(&self) -> Arc<dyn ChannelRooms> {
        self.inner
            .channel_rooms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The slash-command secrets.
    pub(crate) fn slash_auth(&self) -> &SlashAuth {
        &self.inner.slash_auth
    }

    /// Posts slash-command replies that come after the answer (a call still running after
    /// [`crate::slash::ACK_WITHIN`], a long reply's later parts) through `replies`: `serve`'s
    /// outbox. Without it they are posted directly, retried in memory (lost if the process
    /// stops). Set once; a second call is ignored.
    pub fn reply_late_through(&self, replies: LateReplies) {
        let _ = self.inner.late_through_outbox.set(replies);
    }

    /// Where late slash-command replies go: the outbox when one was given, else directly.
    pub(crate) fn late_replies(&self) -> &LateReplies {
        self.inner
            .late_through_outbox
            .get()
            .unwrap_or(&self.inner.late_direct)
    }

    /// Whether `line`'s reply is for its caller only (`[integrations] ephemeral` names its
    /// integration, or its integration and first word).
    pub(crate) fn is_ephemeral(&self, line: &str) -> bool {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default().trim_start_matches('/');
        let sub = words.next();
        self.inner.config.ephemeral.iter().any(|e| {
            let mut want = e.split_whitespace();
            want.next().map(|w| w.trim_start_matches('/')) == Some(name)
                && want.next().is_none_or(|w| Some(w) == sub)
        })
    }

    /// Runs an authenticated webhook (see `Inner::run`).
    pub(crate) async fn run(&self, hook: Webhook, deadline: Instant) -> Result<Reply, Reply> {
        self.inner.run(hook, deadline).await
    }

    /// Stops every Python host.
    pub async fn shutdown(&self) {
        self.inner.python.shutdown().await;
    }
}

/// `POST /hooks/hipchat` (and `POST /`).
async fn hook(State(s): State<Integrations>, request: Request) -> Response {
    // Taken apart here rather than by extractors: the headers and query are read in place.
    let (parts, body) = request.into_parts();
    if let Err(refusal) = hipkit_server::check_webhook(&parts.headers) {
        return refusal.into_response();
    }
    let RequestDeadline(deadline) = RequestDeadline::of(&parts);
    match TimedBody::read(&parts, body).await {
        Ok(bytes) => {
            s.handle(&parts.headers, parts.uri.query(), &bytes, deadline)
                .await
        }
        Err(e) => e.into_response(),
    }
}

/// Answers given before the call could even start (bad requests), or a reply.
fn intake_error(e: IntakeError) -> ApiError {
    let status = match e {
        IntakeError::SeedCommand(_) => StatusCode::GONE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.to_string())
}

/// How often an unknown command may rescan the folder.
const UNKNOWN_RESCAN_EVERY: Duration = Duration::from_secs(1);

/// The built-in integration (unless the folder has one of that name): replies `pong`
/// without running anything, to check the webhook path.
pub const BUILTIN_PING: &str = "ping";

/// Time kept back from the request's deadline to write the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(50);

impl Inner {
    fn registry(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.registry.read().unwrap_or_else(|p| p.into_inner())
    }

    fn available(&self) -> String {
        let names: Vec<String> = self.registry().keys().map(|n| format!("/{n}")).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }

    async fn rescan(&self) -> Result<Vec<String>, registry::ScanError> {
        self.scans.fetch_add(1, Ordering::Relaxed);
        let found = registry::scan(&self.dir)?;
        let changed = {
            let mut current = self.registry.write().unwrap_or_else(|p| p.into_inner());
            let changed = registry::changed(&current, &found);
            *current = found;
            changed
        };
        for name in &changed {
            self.python.retire(name).await;
        }
        if !changed.is_empty() {
            tracing::info!(changed = ?changed, "integrations folder changed");
        }
        Ok(changed)
    }

    /// The entry for `name`; an unknown name rescans the folder (a missed or late folder
    /// event), at most once per [`UNKNOWN_RESCAN_EVERY`] so unknown commands stay cheap.
    async fn entry(&self, name: &str) -> Option<Entry> {
        if let Some(entry) = self.registry().get(name) {
            return Some(entry.clone());
        }
        let due = {
            let mut last = self.last_rescan.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.is_none_or(|at| at.elapsed() >= UNKNOWN_RESCAN_EVERY);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if due && let Err(e) = self.rescan().await {
            tracing::error!("{e}");
        }
        self.registry().get(name).cloned()
    }

    async fn handle(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Reply, ApiError> {
        let hook = intake::parse(body).map_err(intake_error)?;
        let command = command::parse(&hook.message);
        // The integration's own secret, else the global one (also for non-commands, so an
        // unsigned caller learns nothing, not even the list of integrations).
        let secret = match command {
            Command::Call { name, .. } => self.config.jwt_secret_for(name),
            _ => self.config.jwt_secret.as_ref(),
        };
        if let Some(secret) = secret {
            let refused = |why: String| {
                tracing::warn!(room = %hook.room_id, "webhook refused: {why}");
                ApiError::new(StatusCode::UNAUTHORIZED, why)
            };
            let claims = jwt::check(headers, query, secret, self.config.jwt_issuer.as_deref())
                .map_err(|e| refused(e.to_string()))?;
            jwt::bind(
                &claims,
                &hook.room_id,
                hook.oauth_client_id.as_deref(),
                &self.config.room_issuers,
            )
            .map_err(|e| refused(e.to_string()))?;
        }
        Ok(self
            .run(hook, deadline)
            .await
            .unwrap_or_else(|failed| failed))
    }

    /// Routes an authenticated webhook to its integration and runs it by `deadline`: the
    /// reply, or `Err` with the reply saying why nothing (or nothing good) came of it.
    pub(crate) async fn run(&self, hook: Webhook, deadline: Instant) -> Result<Reply, Reply> {
        let Webhook {
            event,
            message,
            room_id,
            payload,
            ..
        } = hook;
        let (name, text) = match command::parse(&message) {
            Command::None => {
                return Ok(Reply::text(format!(
                    "Not a slash command: start the message with /NAME. Available: {}",
                    self.available()
                )));
            }
            Command::BadName(bad) => {
                return Err(Reply::error(format!(
                    "`/{}` is not an integration name (letters, digits, `_` and `-` only). \
                     Available: {}",
                    crate::runtime::one_line(bad),
                    self.available()
                )));
            }
            Command::Call { name, query } => (name.to_owned(), query.to_owned()),
        };
        if name == BUILTIN_PING && !self.registry().contains_key(BUILTIN_PING) {
            return Ok(Reply::text("pong"));
        }
        let Some(entry) = self.entry(&name).await else {
            return Err(Reply::error(format!(
                "No integration /{name}. Available: {}",
                self.available()
            )));
        };
        let inv = Invocation {
            id: self.next_call.fetch_add(1, Ordering::Relaxed),
            path: entry.path.clone(),
            deadline: deadline.checked_sub(ANSWER_MARGIN).unwrap_or(deadline),
            token: self.tokens.token_for(&room_id, &name).cloned(),
            all_tokens: self.tokens.all_tokens(&name, self.config.scoped_tokens),
            name,
            query: text,
            payload,
        };
        tracing::info!(integration = %inv.name, call = inv.id, room = %room_id, event = %event, "running");
        let outcome = match entry.kind {
            Kind::Python => self.python.call(&inv).await,
            Kind::Executable => self.exec.call(&inv).await,
        };
        self.reply(&inv, outcome)
    }

    fn reply(
        &self,
        inv: &Invocation,
        outcome: Result<Returned, CallError>,
    ) -> Result<Reply, Reply> {
        let converted = outcome.and_then(|returned| {
            match returned {
                Returned::Value(v) => Reply::from_value(v),
                Returned::Stdout(out) => Reply::from_stdout(&out),
            }
            .map_err(CallError::Reply)
        });
        match converted {
            Ok(reply) => {
                tracing::info!(integration = %inv.name, call = inv.id, "done");
                Ok(reply)
            }
            Err(e) => {
                let why = hipchat::error_chain(&e);
                tracing::error!(integration = %inv.name, call = inv.id, "{why}");
                Err(Reply::error(format!("/{} {why}", inv.name)))
            }
        }
    }
}

/// Watches the folder; every burst of events rescans it.
fn watch(inner: Weak<Inner>) -> Result<RecommendedWatcher, IntegrationsError> {
    let dir = inner
        .upgrade()
        .map(|i| i.dir.clone())
        .ok_or(IntegrationsError::NoFolder)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Opening and reading files are events too, and a scan (or running an executable)
        // does both: reacting to them would rescan forever. A watcher error rescans.
        if event.is_ok_and(|e| matches!(e.kind, EventKind::Access(_))) {
            return;
        }
        let _ = tx.send(());
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // An editor's save is several events: let the burst settle, then scan once.
            tokio::time::sleep(Duration::from_millis(50)).await;
            while rx.try_recv().is_ok() {}
            let Some(inner) = inner.upgrade() else { return };
            if let Err(e) = inner.rescan().await {
                tracing::error!("{e}");
            }
        }
    });
    Ok(watcher)
}
