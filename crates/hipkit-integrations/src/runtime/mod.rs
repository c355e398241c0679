//! Runtimes: how an integration of the folder is run. `NAME.py` scripts run in a warm Python
//! host per integration ([`python`]); any other executable runs once per call ([`exec`]).
//! Both enforce the per-call timeout, the per-integration concurrency limit and the output
//! budget, and kill what hangs, crashes or floods.

pub mod exec;
mod output;
pub mod python;
pub mod quota;
mod reap;

pub use hipkit_server::one_line;
pub use output::FloodMeter;
pub(crate) use reap::kill_descendants;

use crate::reply::ReplyError;
use hipchat::Token;
use hipkit_store::StoreError;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// One call of an integration.
#[derive(Clone)]
pub struct Invocation {
    /// The call's id (in logs: the seed's "ref").
    pub id: u64,
    /// The integration's file.
    pub path: std::path::PathBuf,
    /// When the answer is due: waiting for a slot or a host ends then, and the call's own
    /// timeout ends by then.
    pub deadline: tokio::time::Instant,
    /// The integration's name.
    pub name: String,
    /// The webhook payload (the seed's `notification`): JSON on one line.
    pub payload: Box<serde_json::value::RawValue>,
    /// The text after `/name `.
    pub query: String,
    /// The token for this room and integration, if any.
    pub token: Option<Token>,
    /// `all_tokens` as the integration may see it.
    pub all_tokens: Value,
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A cause kept with a [`CallError`]: shared, so that the error stays `Clone` (a host's death
/// is told to every call waiting on it).
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// How a call failed. Its causes are kept as sources: show it with [`hipchat::error_chain`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// It ran past the time limit and was killed.
    #[error("did not finish within {} s and was stopped", .0.as_secs_f64())]
    Timeout(Duration),
    /// Its process died.
    #[error("crashed: {what}")]
    Crashed {
        /// What happened.
        what: String,
        /// The error behind it, if any.
        #[source]
        source: Option<Cause>,
    },
    /// It wrote more than its output budget and was killed.
    #[error("flooded its output (over {0} bytes per second) and was stopped")]
    Flood(usize),
    /// It raised an exception (or exited non-zero): the integration's own account.
    #[error("failed: {0}")]
    Failed(String),
    /// What it returned cannot be a reply.
    #[error("failed")]
    Reply(#[source] ReplyError),
    /// Every slot stayed busy until the deadline.
    #[error("is busy ({0} calls running) and this call waited past its deadline")]
    Busy(usize),
    /// It could not be started (Python missing, a syntax error, no `run_integration`).
    #[error("could not start: {what}")]
    Start {
        /// What could not be done (or the integration's own account of its failure).
        what: String,
        /// The error behind it, if any.
        #[source]
        source: Option<Cause>,
    },
    /// Its storage changes could not be saved.
    #[error("ran, but its storage could not be saved")]
    Storage(#[source] Arc<StoreError>),
    /// Its storage changes would exceed its quota and were not saved.
    #[error("ran, but its storage changes were refused")]
    Quota(#[source] quota::QuotaExceeded),
    /// It answered something the protocol does not allow.
    #[error("broke the host protocol: {what}")]
    Protocol {
        /// What was wrong.
        what: String,
        /// The error behind it, if any.
        #[source]
        source: Option<Cause>,
    },
}

impl CallError {
    /// [`CallError::Crashed`], with no cause yet (see [`CallError::by`]).
    pub(crate) fn crashed(what: impl Into<String>) -> Self {
        let what = what.into();
        Self::Crashed { what, source: None }
    }

    /// [`CallError::Start`], with no cause yet.
    pub(crate) fn start(what: impl Into<String>) -> Self {
        let what = what.into();
        Self::Start { what, source: None }
    }

    /// [`CallError::Protocol`], with no cause yet.
    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        let what = what.into();
        Self::Protocol { what, source: None }
    }

    /// The same error, caused by `cause` (for the variants that keep a cause).
    pub(crate) fn by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        if let Self::Crashed { source, .. }
        | Self::Start { source, .. }
        | Self::Protocol { source, .. } = &mut self
        {
            *source = Some(Arc::new(cause));
        }
        self
    }
}

/// What a successful call returned (Python: the return value; executables: stdout as text).
#[derive(Debug, Clone, PartialEq)]
pub enum Returned {
    /// A JSON value returned by a Python integration.
    Value(Value),
    /// An executable's standard output.
    Stdout(Vec<u8>),
}

/// Limits every runtime enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per-call time limit.
    pub timeout: Duration,
    /// Calls of one integration at once.
    pub concurrency: usize,
    /// Output bytes per second before a flood kill.
    pub max_output_bytes: usize,
    /// Each integration's storage quota.
    pub quota: quota::Quota,
}

/// Waits for one of `permits` until `deadline` (a busy integration past it is [`CallError::Busy`]).
pub(crate) async fn acquire<'a>(
    permits: &'a tokio::sync::Semaphore,
    limits: &Limits,
    deadline: tokio::time::Instant,
) -> Result<tokio::sync::SemaphorePermit<'a>, CallError> {
    tokio::time::timeout_at(deadline, permits.acquire())
        .await
        .map_err(|_| CallError::Busy(limits.concurrency))?
        .map_err(|_| CallError::crashed("the runtime is shutting down"))
}

/// What every runtime holds: its limits, the store of its integrations' storage, and each
/// integration's state.
pub(crate) struct Base<T> {
    /// The limits every call gets.
    pub(crate) limits: Limits,
    /// Where integrations' storage lives.
    pub(crate) store: std::sync::Arc<dyn hipkit_store::KvStore>,
    /// Per-integration state.
    pub(crate) per_name: PerName<T>,
}

impl<T> Base<T> {
    /// A runtime's base with no integration state yet.
    pub(crate) fn new(limits: Limits, store: std::sync::Arc<dyn hipkit_store::KvStore>) -> Self {
        Self {
            limits,
            store,
            per_name: PerName::new(),
        }
    }

    /// A semaphore of the configured concurrency (at least one call at a time).
    pub(crate) fn permits(&self) -> tokio::sync::Semaphore {
        tokio::sync::Semaphore::new(self.limits.concurrency.max(1))
    }
}

impl<T> std::fmt::Debug for Base<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Base")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Per-integration state (permits, a host), made at an integration's first call and shared
/// by its later ones.
pub(crate) struct PerName<T>(
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<T>>>,
);

impl<T> PerName<T> {
    pub(crate) fn new() -> Self {
        Self(std::sync::Mutex::new(std::collections::HashMap::new()))
    }

    /// The state of `name`, made by `make` the first time (the name is copied only then).
    pub(crate) fn get(&self, name: &str, make: impl FnOnce() -> T) -> std::sync::Arc<T> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = all.get(name) {
            return found.clone();
        }
        let made = std::sync::Arc::new(make());
        all.insert(name.to_owned(), made.clone());
        made
    }

    /// Every state made so far.
    pub(crate) fn all(&self) -> Vec<std::sync::Arc<T>> {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.values().cloned().collect()
    }
}

/// Environment variables a host or executable inherits (no tokens or secrets of hipkit's).
const PASSED_ENV: &[&str] = &[
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER",
];

/// A command for an integration's process: only [`PASSED_ENV`] inherited, its stdio piped,
/// killed when dropped, and the leader of a new process group, so that [`kill_group`] reaches
/// every process it starts.
pub(crate) fn integration_command(program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
    use std::process::Stdio;
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear()
        .envs(
            PASSED_ENV
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    cmd
}

/// Kills the process group an [`integration_command`] process leads: the process and every
/// child it left behind (a shell's `sleep &`, a script's subprocess). Call it before the leader
/// is waited for, or once it has been, while its group may still have members; a group that is
/// gone is not an error.
pub(crate) fn kill_group(leader: Option<u32>) {
    let group = leader
        .and_then(|pid| i32::try_from(pid).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// Kills an executable's process group when a call ends, however it ends (answered, failed,
/// timed out, or abandoned by a client that went away): nothing a call started outlives it.
pub(crate) struct GroupGuard(pub(crate) Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn call_errors_keep_their_cause_and_show_it_once() {
        let cause = std::io::Error::other("disk on fire");
        let e = super::CallError::start("cannot load its storage").by(cause);
        assert_eq!(e.to_string(), "could not start: cannot load its storage");
        assert_eq!(
            hipchat::error_chain(&e),
            "could not start: cannot load its storage: disk on fire"
        );
        let source = std::error::Error::source(&e).expect("a source");
        assert_eq!(source.to_string(), "disk on fire");
        let copy = e.clone();
        assert_eq!(hipchat::error_chain(&copy), hipchat::error_chain(&e));
    }
}
