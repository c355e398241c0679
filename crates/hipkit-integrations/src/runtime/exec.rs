//! Executable integrations: any other executable `NAME` in the folder, run once per call with
//! the request as JSON on stdin (notification, query, token, storage snapshot); its stdout is
//! the reply (a JSON notification or plain text). Killed at the deadline or when its output
//! floods; a non-zero exit is a failure reported with its last stderr line.

use super::output::{Line, read_line};
use super::quota::entry_size;
use super::{
    Base, CallError, FloodMeter, GroupGuard, Invocation, Limits, Returned, acquire,
    integration_command, kill_group, one_line,
};
use crate::entries::Entries;
use hipkit_store::KvStore;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

/// Longest stderr line logged.
const MAX_STDERR_LINE: usize = 8 << 10;

/// What an executable reads on stdin (one line of JSON), but its storage: that follows,
/// written entry by entry as it is read from the store (see [`write_request`]).
#[derive(serde::Serialize)]
struct ExecRequest<'a> {
    notification: &'a RawValue,
    query: &'a str,
    token: Option<&'a str>,
}

/// Writes the request line: the [`ExecRequest`]'s fields, then `"storage"`, an object of
/// the integration's entries, each read from the store as it is written.
async fn write_request(
    stdin: &mut tokio::process::ChildStdin,
    head: Vec<u8>,
    mut entries: Entries,
) -> std::io::Result<()> {
    // `{...}` without its closing brace, then `,"storage":{`.
    let open = head.len().saturating_sub(1);
    stdin.write_all(&head[..open]).await?;
    stdin.write_all(b",\"storage\":{").await?;
    let mut first = true;
    while let Some(entry) = entries.next().await {
        let (key, value) = entry.map_err(std::io::Error::other)?;
        let size = usize::try_from(entry_size(&key, &value)).unwrap_or(0);
        let mut pair = Vec::with_capacity(size + 4);
        if !first {
            pair.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut pair, &key)?;
        pair.push(b':');
        serde_json::to_writer(&mut pair, &value)?;
        drop(value);
        stdin.write_all(&pair).await?;
    }
    stdin.write_all(b"}}\n").await
}

/// Runs executables with per-integration concurrency limits.
#[derive(Debug)]
pub struct ExecRuntime {
    base: Base<Semaphore>,
}

impl ExecRuntime {
    /// A runtime with these limits, reading storage snapshots from `store`.
    pub fn new(limits: Limits, store: Arc<dyn KvStore>) -> Self {
        Self {
            base: Base::new(limits, store),
        }
    }

    /// Runs the executable `inv.path` for `inv`: a slot is awaited until the call's deadline,
    /// the process gets the timeout (within the deadline).
    pub async fn call(&self, inv: &Invocation) -> Result<Returned, CallError> {
        let deadline = inv.deadline;
        let permits = self.base.per_name.get(&inv.name, || self.base.permits());
        let _permit = acquire(&permits, &self.base.limits, deadline).await?;
        let entries = Entries::open(self.base.store.clone(), &inv.name)
            .await
            .map_err(|e| CallError::start("cannot load its storage").by(e))?;
        let head = serde_json::to_vec(&ExecRequest {
            notification: &inv.payload,
            query: &inv.query,
            token: inv.token.as_ref().map(|t| t.expose()),
        })
        .map_err(|e| CallError::start("cannot write its request").by(e))?;
        let mut child = integration_command(&inv.path)
            .spawn()
            .map_err(|e| CallError::start("cannot run it").by(e))?;
        let _group = GroupGuard(child.id());
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(CallError::start("no pipes to the executable"));
        };
        // Written beside the reads, so a child that does not read stdin cannot block us.
        let name = inv.name.clone();
        tokio::spawn(async move {
            if let Err(e) = write_request(&mut stdin, head, entries).await
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                tracing::warn!(integration = %name, "cannot write its request: {e}");
            }
        });
        let meter = Arc::new(FloodMeter::new(self.base.limits.max_output_bytes));
        let stderr_task = tokio::spawn(log_stderr(inv.name.clone(), stderr, meter.clone()));
        let budget = self.base.limits.max_output_bytes;
        let run = async {
            let mut out = Vec::new();
            let read = stdout.take(budget as u64 + 1).read_to_end(&mut out).await;
            if out.len() > budget || !meter.add(out.len()) {
                return Err(CallError::Flood(budget));
            }
            read.map_err(|e| CallError::crashed("reading its output").by(e))?;
            let status = child
                .wait()
                .await
                .map_err(|e| CallError::crashed("waiting for it to exit").by(e))?;
            Ok((out, status))
        };
        let run_deadline = deadline.min(Instant::now() + self.base.limits.timeout);
        let outcome = match timeout_at(run_deadline, run).await {
            Err(_) => Err(CallError::Timeout(self.base.limits.timeout)),
            Ok(result) => result,
        };
        let (out, status) = match outcome {
            Ok(done) => done,
            Err(e) => {
                kill_group(child.id());
                let _ = child.start_kill();
                let _ = child.wait().await;
                tracing::error!(integration = %inv.name, call = inv.id, "{}; killed", hipchat::error_chain(&e));
                return Err(e);
            }
        };
        let last = stderr_task.await.ok().flatten();
        if let Some(flood) = last.as_ref().and_then(|l| l.as_ref().err()) {
            return Err(flood.clone());
        }
        if !status.success() {
            let detail = last
                .and_then(Result::ok)
                .map(|l| format!(": {l}"))
                .unwrap_or_default();
            return Err(CallError::Failed(format!("exited with {status}{detail}")));
        }
        Ok(Returned::Stdout(out))
    }
}

/// Logs stderr lines; returns the last one, or a flood error (the caller kills the child).
async fn log_stderr(
    name: String,
    stderr: tokio::process::ChildStderr,
    meter: Arc<FloodMeter>,
) -> Option<Result<String, CallError>> {
    let mut reader = BufReader::new(stderr);
    let mut last = None;
    loop {
        match read_line(&mut reader, MAX_STDERR_LINE).await {
            Ok(Line::Text(t) | Line::TooLong(t)) => {
                if !meter.add(t.len() + 1) {
                    return Some(Err(CallError::Flood(meter.budget())));
                }
                let line = one_line(&String::from_utf8_lossy(&t));
                tracing::info!(integration = %name, "output: {line}");
                last = Some(Ok(line));
            }
            Ok(Line::Eof) | Err(_) => return last,
        }
    }
}
