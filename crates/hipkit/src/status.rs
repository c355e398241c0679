//! Build status wiring: the `[reporters]` section checked and built into runnable
//! reporters, with the store as their previous-build memory when a mode needs it.

use crate::Settings;
use hipkit_status::{
    CheckedReporters, ConfigError, History, Relay, RelayAuth, ReporterCouriers, ReporterDeps,
    Reporters, SetupError,
};
use hipkit_store::{LastBuildStore, StoreError};
use hipkit_transport::{DeliveryBackend, Transport};
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

/// The previous-build memory `checked` needs: none when no mode compares; else `shared`
/// (the delivery backend's store), or the `[store]` database opened without the writer
/// lock (beside a running `serve`).
async fn history(
    settings: &Settings,
    checked: &CheckedReporters,
    mode: HistoryMode,
    shared: Option<Arc<dyn LastBuildStore>>,
) -> Result<History, StatusError> {
    if !checked.need_history() {
        return Ok(History::none());
    }
    let store = match shared {
        Some(store) => store,
        None => Arc::new(settings.store.open().await.map_err(StatusError::Store)?),
    };
    Ok(match mode {
        HistoryMode::Record => History::new(store),
        HistoryMode::ReadOnly => History::read_only(store),
    })
}

/// The configured reporters for one-shot use (`hipkit report`): HipChat messages through
/// `transport` (an error when `[hipchat]` has no usable client: only reporters with their
/// own token work then), HTTP pushes and own-token messages sent directly when asked.
pub async fn reporters(
    settings: &Settings,
    transport: Result<Arc<dyn Transport>, hipchat::Error>,
    mode: HistoryMode,
) -> Result<Reporters, StatusError> {
    let checked = settings.reporters.check()?;
    let deps = ReporterDeps {
        transport,
        hipchat: settings.hipchat.clone(),
        history: history(settings, &checked, mode, None).await?,
        queue: None,
    };
    Ok(checked.build(&deps)?)
}

/// What `serve` runs for build status.
#[derive(Debug)]
pub struct StatusService {
    /// `POST /hooks/buildbot`.
    pub relay: Relay,
    /// The reporters as couriers: the outbox workers deliver the relay's parcels (HTTP
    /// pushes, own-token messages) through them, with the live configuration's secrets.
    pub couriers: Arc<ReporterCouriers>,
}

/// The `POST /hooks/buildbot` relay for `serve` on `backend`: every report is queued in its
/// outbox (HTTP pushes too) and previous builds live in its store; hand
/// [`StatusService::couriers`] to its workers. Without an outbox, reports are sent at once.
pub async fn relay(
    settings: &Settings,
    backend: &DeliveryBackend,
) -> Result<StatusService, StatusError> {
    let checked = settings.reporters.check()?;
    let shared = backend.last_builds.clone();
    let deps = ReporterDeps {
        transport: Ok(backend.transport.clone()),
        hipchat: settings.hipchat.clone(),
        history: history(settings, &checked, HistoryMode::Record, shared).await?,
        queue: backend.queue.clone(),
    };
    let reporters = checked.build(&deps)?;
    let couriers = reporters.couriers();
    Ok(StatusService {
        relay: Relay::new(reporters, RelayAuth::new(&settings.reporters.relay)),
        couriers,
    })
}
