//! The warm Python host: one `python3` process per `NAME.py` integration, started at its first
//! call, speaking JSON lines over stdio. Calls are pipelined with ids (up to the concurrency
//! limit, run on the host's thread pool); the host provides the seed's `notification`,
//! `server` and `hipchat` modules from a private temporary folder. A host that dies is
//! started again at the next call; one that hangs or floods is killed; a changed file
//! retires its host (calls in flight finish first).
//!
//! This module holds the runtime and its per-integration slots; [`support`] the files the
//! host runs from, [`host`] the process, [`wire`] its protocol lines and [`batch`] how the
//! storage changes of finished calls are saved.

mod batch;
mod host;
mod interpreter;
mod support;
mod wire;

pub use interpreter::check_python;

use super::{Base, CallError, Invocation, Limits, Returned, acquire};
use hipkit_store::KvStore;
use host::Host;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{RwLock, Semaphore, oneshot};
use tokio::time::{Instant, timeout_at};
use wire::{CallRequest, Init};

/// Why the Python runtime cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The interpreter could not be run.
    #[error(
        "the Python integrations ({scripts}) need Python 3.7 or newer as `{python}` \
         (set [integrations] python): {source}"
    )]
    Unrunnable {
        /// The configured interpreter.
        python: String,
        /// The scripts that need it.
        scripts: String,
        /// Why it could not be run.
        #[source]
        source: std::io::Error,
    },
    /// The interpreter is not Python 3.7 or newer.
    #[error(
        "the Python integrations ({scripts}) need Python 3.7 or newer as `{python}` \
         (set [integrations] python): found version `{version}`"
    )]
    TooOld {
        /// The configured interpreter.
        python: String,
        /// The scripts that need it.
        scripts: String,
        /// The version it printed (empty if it printed none).
        version: String,
    },
    /// The private folder for the host's modules could not be written.
    #[error("cannot write the Python host's modules to a temporary folder: {0}")]
    Support(#[source] std::io::Error),
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
#[derive(Debug)]
pub struct PythonRuntime {
    support: tempfile::TempDir,
    python: String,
    target: HipChatTarget,
    base: Base<Slot>,
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
        Ok(Self {
            support: support::write().map_err(PythonError::Support)?,
            python: python.to_owned(),
            target,
            base: Base::new(limits, store),
        })
    }

    fn slot(&self, name: &str) -> Arc<Slot> {
        self.base.per_name.get(name, || Slot {
            permits: self.base.permits(),
            host: tokio::sync::Mutex::new(None),
            storage: RwLock::new(()),
        })
    }

    /// Runs `inv` in the host of the script `inv.path`: a slot and a started host are awaited
    /// until the call's deadline, the call itself gets the timeout (within the deadline).
    pub async fn call(&self, inv: &Invocation) -> Result<Returned, CallError> {
        let deadline = inv.deadline;
        let slot = self.slot(&inv.name);
        let _permit = acquire(&slot.permits, &self.base.limits, deadline).await?;
        let _storage = timeout_at(deadline, slot.storage.read())
            .await
            .map_err(|_| CallError::Timeout(self.base.limits.timeout))?;
        let host = self.host(&slot, &inv.path, &inv.name, deadline).await?;
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
            let err = CallError::crashed("cannot send the call to its host").by(e);
            host.kill(err.clone());
            return Err(err);
        }
        let run_deadline = deadline.min(Instant::now() + self.base.limits.timeout);
        match timeout_at(run_deadline, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(CallError::crashed("its host went away")),
            Err(_) => {
                host.pending().remove(&inv.id);
                host.kill(CallError::crashed(format!(
                    "its host was stopped because call {} timed out",
                    inv.id
                )));
                tracing::warn!(integration = %inv.name, call = inv.id, "timed out; host killed");
                Err(CallError::Timeout(self.base.limits.timeout))
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
            .map_err(|_| CallError::Timeout(self.base.limits.timeout))?;
        if let Some(host) = current.as_ref().filter(|h| !h.is_dead()) {
            return Ok(host.clone());
        }
        let init = Init {
            name,
            path,
            endpoint: &self.target.endpoint,
            insecure: self.target.insecure,
            http_timeout: self.target.timeout_secs,
            concurrency: self.base.limits.concurrency.max(1),
            quota: self.base.limits.quota,
        };
        let program = self.support.path().join(support::HOST_PROGRAM);
        let start = Host::start(
            &self.python,
            &program,
            &init,
            self.base.limits.max_output_bytes,
            self.base.store.clone(),
        );
        let started = timeout_at(deadline, start)
            .await
            .map_err(|_| CallError::Timeout(self.base.limits.timeout))??;
        *current = Some(started.clone());
        Ok(started)
    }

    /// Retires `name`'s host: calls in flight finish, the next call starts a fresh host
    /// (reloading the script and its storage).
    pub async fn retire(&self, name: &str) {
        let slot = self.slot(name);
        let old = slot.host.lock().await.take();
        if let Some(host) = old {
            host.retire().await;
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
        for slot in self.base.per_name.all() {
            if let Some(host) = slot.host.lock().await.take() {
                host.kill(CallError::crashed("hipkit is shutting down"));
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
        for slot in self.base.per_name.all() {
            if let Ok(mut host) = slot.host.try_lock()
                && let Some(host) = host.take()
            {
                host.kill(CallError::crashed("hipkit stopped its integrations"));
            }
        }
    }
}
