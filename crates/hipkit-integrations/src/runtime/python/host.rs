//! The host process: one `python3` running the host program for one integration. It is
//! started with its settings, answers calls by id over its pipes, has what it prints logged
//! (within the output budget), and is killed when it hangs, floods or breaks the protocol;
//! calls waiting on a host that ends are told why.

use super::super::output::{Line, read_line};
use super::super::quota::{Quota, Usage, entry_size};
use super::super::{
    CallError, FloodMeter, Returned, integration_command, kill_descendants, kill_group, one_line,
};
use super::batch::Batch;
use super::wire::{CallRequest, FromHost, Hello, Init, Op};
use crate::entries::Entries;
use hipkit_store::KvStore;
use serde_json::value::RawValue;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::oneshot;

/// Longest protocol line from a host (a reply with its storage changes).
const MAX_PROTOCOL_LINE: usize = 16 << 20;
/// Longest stderr line kept for the log.
const MAX_STDERR_LINE: usize = 8 << 10;
/// Stderr lines kept to explain a crash.
const STDERR_TAIL: usize = 8;

/// The outcome sent to a waiting call.
pub(super) type Outcome = Result<Returned, CallError>;

/// A running host process.
pub(super) struct Host {
    name: String,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    child: Mutex<Option<Child>>,
    dead: AtomicBool,
    death: Mutex<Option<CallError>>,
    flood: FloodMeter,
    tail: Mutex<VecDeque<String>>,
    /// What its storage holds, as saved (checked against `quota` as calls finish).
    usage: Mutex<Usage>,
    quota: Quota,
}

/// Writes `name`'s storage to a starting host, one `[key, size, value]` line per entry read
/// from the store as it is written, and an empty line after the last; returns what it holds.
async fn send_storage(
    stdin: &mut ChildStdin,
    store: Arc<dyn KvStore>,
    name: &str,
) -> Result<Usage, CallError> {
    let load_failed = |e| CallError::start("cannot load its storage").by(e);
    let send_failed = |e| CallError::start("cannot send its storage to the Python host").by(e);
    let mut entries = Entries::open(store, name).await.map_err(load_failed)?;
    let mut usage = Usage::default();
    while let Some(entry) = entries.next().await {
        let (key, value) = entry.map_err(load_failed)?;
        let size = entry_size(&key, &value);
        // Sized up front (the value's JSON is `size` less the key), so it is never regrown.
        let mut line = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + key.len() + 32);
        serde_json::to_writer(&mut line, &(&key, size, &value))
            .map_err(|e| CallError::start("cannot write its storage").by(e))?;
        drop(value);
        line.push(b'\n');
        stdin.write_all(&line).await.map_err(send_failed)?;
        usage.insert(key, size);
    }
    stdin.write_all(b"\n").await.map_err(send_failed)?;
    Ok(usage)
}

impl Host {
    /// Runs `python` on the host `program` with `init`, and waits for its first line: the
    /// integration loaded (the host then answers calls, saving their storage in `store`), or
    /// why it could not be.
    pub(super) async fn start(
        python: &str,
        program: &Path,
        init: &Init<'_>,
        max_output_bytes: usize,
        store: Arc<dyn KvStore>,
    ) -> Result<Arc<Host>, CallError> {
        let name = init.name;
        let mut cmd = integration_command(python);
        cmd.arg("-s")
            .arg("-B")
            .arg(program)
            .env("PYTHONIOENCODING", "utf-8");
        let mut child = cmd.spawn().map_err(|e| {
            CallError::start(format!("cannot run `{python}` (Python 3 is needed)")).by(e)
        })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(CallError::start("no pipes to the Python host"));
        };
        let mut line = serde_json::to_vec(init)
            .map_err(|e| CallError::start("cannot write the Python host's settings").by(e))?;
        line.push(b'\n');
        stdin
            .write_all(&line)
            .await
            .map_err(|e| CallError::start("cannot start the Python host").by(e))?;
        let usage = send_storage(&mut stdin, store.clone(), name).await?;
        let host = Arc::new(Host {
            name: name.to_owned(),
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            pending: Mutex::new(HashMap::new()),
            child: Mutex::new(Some(child)),
            dead: AtomicBool::new(false),
            death: Mutex::new(None),
            flood: FloodMeter::new(max_output_bytes),
            tail: Mutex::new(VecDeque::new()),
            usage: Mutex::new(usage),
            quota: init.quota,
        });
        tokio::spawn(host.clone().drain_stderr(stderr));
        let mut stdout = BufReader::new(stdout);
        match read_line(&mut stdout, MAX_PROTOCOL_LINE).await {
            Ok(Line::Text(first)) => match serde_json::from_slice::<Hello>(&first) {
                Ok(Hello::Ready) => {}
                Ok(Hello::Failed { error, traceback }) => {
                    let why = error.unwrap_or_else(|| "unknown error".to_owned());
                    tracing::error!(integration = %name, traceback = %one_line(&traceback), "cannot load: {}", one_line(&why));
                    host.kill(CallError::start(why.clone()));
                    return Err(CallError::start(why));
                }
                Err(_) => {
                    host.kill(CallError::protocol("bad first line"));
                    return Err(CallError::protocol(
                        "the host's first line is not ready/failed",
                    ));
                }
            },
            _ => {
                let why = host.exit_report().await;
                return Err(CallError::start(format!(
                    "the Python host exited at start ({why})"
                )));
            }
        }
        tokio::spawn(host.clone().read_replies(stdout, store));
        tracing::info!(integration = %name, "Python host started");
        Ok(host)
    }

    /// The integration's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The calls waiting for their answer, by id.
    pub(super) fn pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Outcome>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What its storage holds, as saved.
    pub(super) fn usage(&self) -> std::sync::MutexGuard<'_, Usage> {
        self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its storage quota.
    pub(super) fn quota(&self) -> Quota {
        self.quota
    }

    /// Lets the host finish its calls and go, and the next call start a fresh one (its
    /// storage in memory no longer matches what was saved).
    pub(super) async fn resync(&self) {
        self.dead.store(true, Ordering::Release);
        self.retire().await;
    }

    /// Whether the host was killed or has ended.
    pub(super) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Writes one call: its request, a tab, and the webhook payload.
    pub(super) async fn send_call(
        &self,
        call: &CallRequest<'_>,
        payload: &RawValue,
    ) -> std::io::Result<()> {
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

    /// Closes the host's input: it finishes the calls it has, then exits.
    pub(super) async fn retire(&self) {
        self.stdin.lock().await.take();
    }

    /// Kills the process; calls still waiting get `reason`.
    pub(super) fn kill(&self, reason: CallError) {
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
            // Its subtree first, while the host (their subreaper) still collects the orphans.
            kill_descendants(child.id());
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
                kill_descendants(c.id());
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
                    self.kill(CallError::protocol("an unreadable line").by(e));
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
                (Op::Done, Some(id)) => batch.add(&self, id, m.result, m.error, m.set, m.del),
                (Op::Done, None) => {
                    self.kill(CallError::protocol("a finished call without its id"));
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
            .unwrap_or_else(|| CallError::crashed(format!("the Python host exited ({report})")));
        let waiting: Vec<_> = self.pending().drain().collect();
        if !waiting.is_empty() {
            tracing::error!(integration = %self.name, calls = waiting.len(), "host ended with calls in flight: {}", hipchat::error_chain(&reason));
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
