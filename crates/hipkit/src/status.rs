//! Build status wiring: the `[reporters]` section checked and built into runnable
//! reporters, with the store as their previous-build memory when a mode needs it.

use crate::Settings;
use hipkit_status::{ConfigError, History, Relay, RelayAuth, Reporters, SetupError};
use hipkit_store::{LastBuildStore, StoreError};
use hipkit_transport::Transport;
use hipkit_transport::outbox::RetryPolicy;
use std::sync::Arc;

/// Why the reporters could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A `[[reporters.*]]` table is wrong (Buildbot's wording).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A reporter's own HipChat client could not be built.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The store holding previous builds could not be opened.
    #[error("cannot open the store for previous builds: {0}")]
    Store(#[source] StoreError),
}

/// Whether previous builds are recorded, or only read (`--dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryMode {
    /// Read and record.
    Record,
    /// Read only.
    ReadOnly,
}

/// The configured reporters, sending HipChat messages through `transport` (an error when
/// `[hipchat]` has no usable client: only reporters with their own token work then). The
/// `[store]` database is opened (without the writer lock, beside a running `serve`) only
/// when a reporter's modes compare with the previous build.
pub async fn reporters(
    settings: &Settings,
    transport: Result<Arc<dyn Transport>, hipchat::Error>,
    history: HistoryMode,
    http_retry: Option<RetryPolicy>,
) -> Result<Reporters, StatusError> {
    let checked = settings.reporters.check()?;
    let history = if checked.need_history() {
        let store: Arc<dyn LastBuildStore> =
            Arc::new(settings.store.open().await.map_err(StatusError::Store)?);
        match history {
            HistoryMode::Record => History::new(store),
            HistoryMode::ReadOnly => History::read_only(store),
        }
    } else {
        History::none()
    };
    let deps = hipkit_status::ReporterDeps {
        transport,
        hipchat: settings.hipchat.clone(),
        history,
        http_retry,
    };
    Ok(checked.build(&deps)?)
}

/// The `POST /hooks/buildbot` relay for `serve`, its HipChat reports queued on `transport`.
pub async fn relay(
    settings: &Settings,
    transport: Arc<dyn Transport>,
) -> Result<Relay, StatusError> {
    // HTTP pushes are retried in memory with the outbox's policy until the outbox carries
    // HTTP destinations.
    let policy = settings
        .delivery
        .worker_config(settings.hipchat.timeout())
        .retry;
    let reporters = reporters(settings, Ok(transport), HistoryMode::Record, Some(policy)).await?;
    Ok(Relay::new(
        reporters,
        RelayAuth::new(&settings.reporters.relay),
    ))
}
