//! The warm Python host: one `python3` process per `NAME.py` integration, started at its first
//! call, speaking JSON lines over stdio. Calls are pipelined with ids (up to the concurrency
//! limit, run on the host's thread pool); the host provides the seed's `notification`,
//! `server` and `hipchat` modules from a private temporary folder. A host that dies is
//! started again at the next call; one that hangs or floods is killed; a changed file
//! retires its host (calls in flight finish first).

use super::output::{Line, read_line};
use super::{
    CallError, FloodMeter, Invocation, Limits, PerName, Returned, acquire, integration_command,
    kill_group, one_line,
};
use hipkit_store::KvStore;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{RwLock, Semaphore, oneshot};
use tokio::time::{Instant, timeout_at};

/// The host program and the modules integrations import, written to a private folder.
const SUPPORT_FILES: &[(&str, &str)] = &[
    ("host.py", include_str!("../python/host.py")),
    ("notification.py", include_str!("../python/notification.py")),
    ("server.py", include_str!("../python/server.py")),
    (
        "hipchat/__init__.py",
        include_str!("../python/hipchat/__init__.py"),
    ),
    (
        "hipchat/_client.py",
        include_str!("../python/hipchat/_client.py"),
    ),
    (
        "hipchat/messages.py",
        include_str!("../python/hipchat/messages.py"),
    ),
    (
        "hipchat/notifications.py",
        include_str!("../python/hipchat/notifications.py"),
    ),
    (
        "hipchat/files.py",
        include_str!("../python/hipchat/files.py"),
    ),
    (
        "hipchat/cards/__init__.py",
        include_str!("../python/hipchat/cards/__init__.py"),
    ),
    (
        "hipchat/cards/Card.py",
        include_str!("../python/hipchat/cards/Card.py"),
    ),
];

/// Longest protocol line from a host (a reply with its storage changes).
const MAX_PROTOCOL_LINE: usize = 16 << 20;
/// Longest stderr line kept for the log.
const MAX_STDERR_LINE: usize = 8 << 10;
/// Stderr lines kept to explain a crash.
const STDERR_TAIL: usize = 8;

/// Why the Python runtime cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The interpreter could not be run or is too old.
    #[error(
        "the Python integrations ({scripts}) need Python 3.7 or newer as `{python}` \
         (set [integrations] python): {problem}"
    )]
    Interpreter {
        /// The configured interpreter.
        python: String,
        /// The scripts that need it.
        scripts: String,
        /// What went wrong.
        problem: String,
    },
    /// The private folder for the host's modules could not be written.
    #[error("cannot write the Python host's modules to a temporary folder: {0}")]
    Support(#[source] std::io::Error),
}

/// Checks that `python` runs and is Python ≥ 3.7; `scripts` names what needs it.
pub async fn check_python(python: &str, scripts: &str) -> Result<String, PythonError> {
    let fail = |problem: String| PythonError::Interpreter {
        python: python.to_owned(),
        scripts: scripts.to_owned(),
        problem,
    };
    let out = Command::new(python)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if !out.status.success() || major != 3 || minor < 7 {
        return Err(fail(format!("found version `{version}`")));
    }
    Ok(version)
}

/// Where the Python helpers send HipChat requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HipChatTarget {
    /// Base URL of the HipChat server (or the emulator).
    pub endpoint: String,
    /// Accept invalid TLS certificates.
    pub insecure: bool,
    /// Timeout of each helper request, in seconds.
    pub timeout_secs: u64,
}

/// The Python runtime: one [`Slot`] per integration.
pub struct PythonRuntime {
    support: tempfile::TempDir,
    python: String,
    target: HipChatTarget,
    limits: Limits,
    store: Arc<dyn KvStore>,
    slots: PerName<Slot>,
}

impl std::fmt::Debug for PythonRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonRuntime")
            .field("python", &self.python)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One integration's host, its concurrency permits and its storage lock.
struct Slot {
    permits: Semaphore,
    host: tokio::sync::Mutex<Option<Arc<Host>>>,
    /// Calls hold it shared; an admin import or erase holds it exclusively.
    storage: RwLock<()>,
}

impl PythonRuntime {
    /// Writes the host's modules to a private temporary folder (removed on drop).
    pub fn new(
        python: &str,
        target: HipChatTarget,
        limits: Limits,
        store: Arc<dyn KvStore>,
    ) -> Result<Self, PythonError> {
        let support = tempfile::Builder::new()
            .prefix("hipkit-python-")
            .tempdir()
            .map_err(PythonError::Support)?;
        for (rel, text) in SUPPORT_FILES {
            let path = support.path().join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(PythonError::Support)?;
            }
            std::fs::write(&path, text).map_err(PythonError::Support)?;
        }
        Ok(Self {
            support,
            python: python.to_owned(),
            target,
            limits,
            store,
            slots: PerName::new(),
        })
    }

    fn slot(&self, name: &str) -> Arc<Slot> {
        self.slots.get(name, || Slot {
            permits: Semaphore::new(self.limits.concurrency.max(1)),
            host: tokio::sync::Mutex::new(None),
            storage: RwLock::new(()),
        })
    }

    /// Runs `inv` in the host of the script at `path`: a slot and a started host are awaited
    /// until `deadline` (the request's), the call itself gets the timeout (within `deadline`).
    pub async fn call(
        &self,
        path: &Path,
        inv: &Invocation,
        deadline: Instant,
    ) -> Result<Returned, CallError> {
        let slot = self.slot(&inv.name);
        let _permit = acquire(&slot.permits, &self.limits, deadline).await?;
        let _storage = timeout_at(deadline, slot.storage.read())
            .await
            .map_err(|_| CallError::Timeout(self.limits.timeout))?;
        let host = self.host(&slot, path, &inv.name, deadline).await?;
        let (tx, rx) = oneshot::channel();
        host.pending().insert(inv.id, tx);
        let request = CallRequest {
            id: inv.id,
            query: &inv.query,
            all_tokens: &inv.all_tokens,
            token: inv.token.as_ref().map(|t| t.expose()),
        };
        if let Err(e) = host.send_call(&request, &inv.payload).await {
            host.pending().remove(&inv.id);
            let err = CallError::Crashed(format!("cannot send the call to its host: {e}"));
            host.kill(err.clone());
            return Err(err);
        }
        let run_deadline = deadline.min(Instant::now() + self.limits.timeout);
        match timeout_at(run_deadline, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(CallError::Crashed("its host went away".into())),
            Err(_) => {
                host.pending().remove(&inv.id);
                host.kill(CallError::Crashed(format!(
                    "its host was stopped because call {} timed out",
                    inv.id
                )));
                tracing::warn!(integration = %inv.name, call = inv.id, "timed out; host killed");
                Err(CallError::Timeout(self.limits.timeout))
            }
        }
    }

    /// The running host of `slot`, started (with its storage loaded) if there is none.
    async fn host(
        &self,
        slot: &Slot,
        path: &Path,
        name: &str,
        deadline: Instant,
    ) -> Result<Arc<Host>, CallError> {
        let mut current = timeout_at(deadline, slot.host.lock())
            .await
            .map_err(|_| CallError::Timeout(self.limits.timeout))?;
        if let Some(host) = current.as_ref().filter(|h| !h.is_dead()) {
            return Ok(host.clone());
        }
        let storage = self
            .store
            .export(name)
            .await
            .map_err(|e| CallError::Start(format!("cannot load its storage: {e}")))?;
        let started = timeout_at(deadline, self.start(path, name, storage))
            .await
            .map_err(|_| CallError::Timeout(self.limits.timeout))??;
        *current = Some(started.clone());
        Ok(started)
    }

    async fn start(
        &self,
        path: &Path,
        name: &str,
        storage: BTreeMap<String, Value>,
    ) -> Result<Arc<Host>, CallError> {
        let mut cmd = integration_command(&self.python);
        cmd.arg("-s")
            .arg("-B")
            .arg(self.support.path().join("host.py"))
            .env("PYTHONIOENCODING", "utf-8");
        let mut child = cmd.spawn().map_err(|e| {
            CallError::Start(format!(
                "cannot run `{}` (Python 3 is needed): {e}",
                self.python
            ))
        })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(CallError::Start("no pipes to the Python host".into()));
        };
        let init = json!({
            "name": name,
            "path": path,
            "endpoint": self.target.endpoint,
            "insecure": self.target.insecure,
            "http_timeout": self.target.timeout_secs,
            "concurrency": self.limits.concurrency.max(1),
            "storage": Map::from_iter(storage),
        });
        let mut line = serde_json::to_vec(&init).map_err(|e| CallError::Start(e.to_string()))?;
        line.push(b'\n');
        stdin
            .write_all(&line)
            .await
            .map_err(|e| CallError::Start(format!("cannot start the Python host: {e}")))?;
        let host = Arc::new(Host {
            name: name.to_owned(),
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            pending: Mutex::new(HashMap::new()),
            child: Mutex::new(Some(child)),
            dead: AtomicBool::new(false),
            death: Mutex::new(None),
            flood: FloodMeter::new(self.limits.max_output_bytes),
            tail: Mutex::new(VecDeque::new()),
        });
        tokio::spawn(host.clone().drain_stderr(stderr));
        let mut stdout = BufReader::new(stdout);
        match read_line(&mut stdout, MAX_PROTOCOL_LINE).await {
            Ok(Line::Text(first)) => match serde_json::from_slice::<Value>(&first) {
                Ok(v) if v["op"] == "ready" => {}
                Ok(v) if v["op"] == "failed" => {
                    let why = v["error"].as_str().unwrap_or("unknown error").to_owned();
                    tracing::error!(integration = %name, traceback = %one_line(v["traceback"].as_str().unwrap_or("")), "cannot load: {}", one_line(&why));
                    host.kill(CallError::Start(why.clone()));
                    return Err(CallError::Start(why));
                }
                _ => {
                    host.kill(CallError::Protocol("bad first line".into()));
                    return Err(CallError::Protocol(
                        "the host's first line is not ready/failed".into(),
                    ));
                }
            },
            _ => {
                let why = host.exit_report().await;
                return Err(CallError::Start(format!(
                    "the Python host exited at start ({why})"
                )));
            }
        }
        tokio::spawn(host.clone().read_replies(stdout, self.store.clone()));
        tracing::info!(integration = %name, "Python host started");
        Ok(host)
    }

    /// Retires `name`'s host: calls in flight finish, the next call starts a fresh host
    /// (reloading the script and its storage).
    pub async fn retire(&self, name: &str) {
        let slot = self.slot(name);
        let old = slot.host.lock().await.take();
        if let Some(host) = old {
            host.stdin.lock().await.take();
        }
    }

    /// Runs `op` on `name`'s storage while no call runs, then retires its host so the next
    /// call sees the new storage.
    pub async fn with_storage_exclusive<T>(
        &self,
        name: &str,
        op: impl std::future::Future<Output = T>,
    ) -> T {
        let slot = self.slot(name);
        let _exclusive = slot.storage.write().await;
        let result = op.await;
        self.retire(name).await;
        result
    }

    /// Stops every host.
    pub async fn shutdown(&self) {
        for slot in self.slots.all() {
            if let Some(host) = slot.host.lock().await.take() {
                host.kill(CallError::Crashed("hipkit is shutting down".into()));
            }
        }
    }

    /// The folder holding the host's modules (for tests: it must be private).
    pub fn support_dir(&self) -> &Path {
        self.support.path()
    }
}

impl Drop for PythonRuntime {
    fn drop(&mut self) {
        for slot in self.slots.all() {
            if let Ok(mut host) = slot.host.try_lock()
                && let Some(host) = host.take()
            {
                host.kill(CallError::Crashed("hipkit stopped its integrations".into()));
            }
        }
    }
}

/// A call as the host reads it, borrowed from the [`Invocation`]. On the wire it is followed
/// by a tab and the webhook payload (already on one line), which the host parses only if the
/// integration uses it (compact JSON has no raw tab, so the first one ends the call's part).
#[derive(serde::Serialize)]
struct CallRequest<'a> {
    id: u64,
    query: &'a str,
    all_tokens: &'a Value,
    token: Option<&'a str>,
}

/// The outcome sent to a waiting call.
type Outcome = Result<Returned, CallError>;

/// A running host process.
struct Host {
    name: String,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    child: Mutex<Option<Child>>,
    dead: AtomicBool,
    death: Mutex<Option<CallError>>,
    flood: FloodMeter,
    tail: Mutex<VecDeque<String>>,
}

/// What a line from the host is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    /// A log record (`id`, `level`, `message`).
    Log,
    /// A finished call (`id`, `result` or `error`, storage changes `set` and `del`).
    Done,
}

/// A line from the host. One flat struct rather than an enum tagged by `op`: serde reads a
/// tagged enum by first copying the whole line into a tree of its own, on every call.
#[derive(Debug, Deserialize)]
struct FromHost {
    op: Op,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    level: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, Value>,
    #[serde(default)]
    del: Vec<String>,
}

impl Host {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Outcome>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    async fn send_call(&self, call: &CallRequest<'_>, payload: &RawValue) -> std::io::Result<()> {
        let payload = payload.get().as_bytes();
        let mut line = Vec::with_capacity(payload.len() + 256);
        serde_json::to_writer(&mut line, call)?;
        line.push(b'\t');
        line.extend_from_slice(payload);
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let pipe = stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the host is retired"))?;
        pipe.write_all(&line).await?;
        pipe.flush().await
    }

    /// Kills the process; calls still waiting get `reason`.
    fn kill(&self, reason: CallError) {
        self.dead.store(true, Ordering::Release);
        {
            let mut death = self.death.lock().unwrap_or_else(|p| p.into_inner());
            death.get_or_insert(reason);
        }
        if let Some(child) = self
            .child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            kill_group(child.id());
            let _ = child.start_kill();
        }
    }

    /// Waits for the process and describes how it ended, with its last stderr lines.
    async fn exit_report(&self) -> String {
        self.dead.store(true, Ordering::Release);
        let child = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        let status = match child {
            Some(mut c) => {
                // What the script started dies with its host, whose pid is still unwaited.
                kill_group(c.id());
                c.wait()
                    .await
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string())
            }
            None => "gone".into(),
        };
        let tail: Vec<String> = self
            .tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        if tail.is_empty() {
            status
        } else {
            format!("{status}; last output: {}", tail.join(" | "))
        }
    }

    /// Logs what the integration prints (stderr), one escaped line each, within the budget.
    async fn drain_stderr(self: Arc<Self>, stderr: ChildStderr) {
        let mut reader = BufReader::new(stderr);
        loop {
            let text = match read_line(&mut reader, MAX_STDERR_LINE).await {
                Ok(Line::Text(t) | Line::TooLong(t)) => t,
                Ok(Line::Eof) | Err(_) => return,
            };
            if !self.flood.add(text.len() + 1) {
                self.flooded();
                return;
            }
            let line = one_line(&String::from_utf8_lossy(&text));
            tracing::info!(integration = %self.name, "output: {line}");
            let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }

    fn flooded(&self) {
        tracing::error!(integration = %self.name, budget = self.flood.budget(), "flooding its output: killed");
        self.kill(CallError::Flood(self.flood.budget()));
    }

    /// Reads the host's answers: logs, and finished calls (their storage changes saved first).
    async fn read_replies(
        self: Arc<Self>,
        mut stdout: BufReader<ChildStdout>,
        store: Arc<dyn KvStore>,
    ) {
        // Finished calls are saved in batches: whatever is complete when no further line is
        // buffered. While one batch commits, the host's next answers wait in the pipe and
        // make the next batch.
        let mut batch = Batch::default();
        loop {
            if !batch.is_empty() && !stdout.buffer().contains(&b'\n') {
                batch.finish(store.as_ref(), &self).await;
            }
            let line = match read_line(&mut stdout, MAX_PROTOCOL_LINE).await {
                Ok(Line::Text(line)) => line,
                Ok(Line::TooLong(_)) => {
                    self.kill(CallError::Flood(MAX_PROTOCOL_LINE));
                    break;
                }
                Ok(Line::Eof) | Err(_) => break,
            };
            let m = match serde_json::from_slice::<FromHost>(&line) {
                Ok(m) => m,
                Err(e) => {
                    self.kill(CallError::Protocol(e.to_string()));
                    break;
                }
            };
            match (m.op, m.id) {
                (Op::Log, id) => {
                    if !self.flood.add(m.message.len()) {
                        self.flooded();
                        break;
                    }
                    self.log(id, &m.level, &m.message);
                }
                (Op::Done, Some(id)) => batch.add(id, m.result, m.error, m.set, m.del),
                (Op::Done, None) => {
                    self.kill(CallError::Protocol("a finished call without its id".into()));
                    break;
                }
            }
        }
        batch.finish(store.as_ref(), &self).await;
        let report = self.exit_report().await;
        let reason = self
            .death
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| CallError::Crashed(format!("the Python host exited ({report})")));
        let waiting: Vec<_> = self.pending().drain().collect();
        if !waiting.is_empty() {
            tracing::error!(integration = %self.name, calls = waiting.len(), "host ended with calls in flight: {reason}");
        }
        for (_, tx) in waiting {
            let _ = tx.send(Err(reason.clone()));
        }
    }

    fn log(&self, id: Option<u64>, level: &str, message: &str) {
        let text = one_line(message);
        let call = id.unwrap_or(0);
        match level {
            "error" => tracing::error!(integration = %self.name, call, "{text}"),
            "warn" => tracing::warn!(integration = %self.name, call, "{text}"),
            "debug" => tracing::debug!(integration = %self.name, call, "{text}"),
            _ => tracing::info!(integration = %self.name, call, "{text}"),
        }
    }
}

/// Finished calls whose storage changes are saved in one go.
#[derive(Default)]
struct Batch {
    /// Each key's last state in the batch: a value, or `None` for removed.
    changes: BTreeMap<String, Option<Value>>,
    /// The calls and what they returned, in order.
    calls: Vec<(u64, Result<Value, String>)>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    fn add(
        &mut self,
        id: u64,
        result: Value,
        error: Option<String>,
        set: BTreeMap<String, Value>,
        del: Vec<String>,
    ) {
        self.changes
            .extend(set.into_iter().map(|(k, v)| (k, Some(v))));
        self.changes.extend(del.into_iter().map(|k| (k, None)));
        self.calls.push((id, error.map_or(Ok(result), Err)));
    }

    /// Saves the changes (all in one transaction) and answers the calls.
    async fn finish(&mut self, store: &dyn KvStore, host: &Host) {
        let changes = std::mem::take(&mut self.changes);
        let saved = store.apply(&host.name, &changes).await;
        let saved = saved.map_err(|e| e.to_string());
        let mut pending = host.pending();
        for (id, returned) in self.calls.drain(..) {
            let outcome = match (returned, &saved) {
                (Err(e), _) => Err(CallError::Failed(e)),
                (Ok(_), Err(e)) => Err(CallError::Storage(e.clone())),
                (Ok(v), Ok(())) => Ok(Returned::Value(v)),
            };
            if let Some(tx) = pending.remove(&id) {
                let _ = tx.send(outcome);
            }
        }
    }
}
