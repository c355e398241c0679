//! Build status wired into a process: the `[reporters]` section checked and built into
//! runnable reporters, with the store as their previous-build memory when a mode needs it;
//! for `serve`, the `POST /hooks/buildbot` relay as a [`Capability`]; for `hipkit report`,
//! the reporters for one-shot use.

use crate::{
    CheckedReporters, ConfigError, History, Relay, RelayAuth, ReporterDeps, Reporters,
    ReportersConfig, SetupError,
};
use async_trait::async_trait;
use hipkit_server::{Capability, CapabilityError, Context, Mounted};
use hipkit_store::{LastBuildStore, StoreConfig, StoreError};
use hipkit_transport::Transport;
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

/// The previous-build memory `checked` needs: none when no mode compares; else `store`.
async fn history<F>(
    checked: &CheckedReporters,
    mode: HistoryMode,
    store: impl FnOnce() -> F,
) -> Result<History, StatusError>
where
    F: Future<Output = Result<Arc<dyn LastBuildStore>, StoreError>>,
{
    if !checked.need_history() {
        return Ok(History::none());
    }
    let store = store().await.map_err(StatusError::Store)?;
    Ok(match mode {
        HistoryMode::Record => History::new(store),
        HistoryMode::ReadOnly => History::read_only(store),
    })
}

impl ReportersConfig {
    /// The reporters for one-shot use (`hipkit report`): HipChat messages through `transport`
    /// (an error when `[hipchat]` has no usable client: only reporters with their own token
    /// work then), HTTP pushes and own-token messages sent directly when asked; previous
    /// builds in the `store` database, opened without the writer lock (beside a running
    /// `serve`).
    pub async fn one_shot(
        &self,
        hipchat: &hipchat::ClientConfig,
        store: &StoreConfig,
        transport: Result<Arc<dyn Transport>, hipchat::Error>,
        mode: HistoryMode,
    ) -> Result<Reporters, StatusError> {
        let checked = self.check()?;
        let history = history(&checked, mode, || async {
            let db: Arc<dyn LastBuildStore> = store.open().await?.last_builds;
            Ok(db)
        })
        .await?;
        let deps = ReporterDeps {
            transport,
            hipchat: hipchat.clone(),
            history,
            queue: None,
        };
        Ok(checked.build(&deps)?)
    }

    /// The reporters `serve` runs: every report queued in the context's outbox (HTTP pushes
    /// too; without an outbox, sent at once), previous builds in its one store.
    async fn for_serve(&self, cx: &Context) -> Result<Reporters, StatusError> {
        let checked = self.check()?;
        let history = history(&checked, HistoryMode::Record, || async {
            Ok(cx.store.get().await?.last_builds)
        })
        .await?;
        let deps = ReporterDeps {
            transport: Ok(cx.delivery.transport.clone()),
            hipchat: cx.hipchat.clone(),
            history,
            queue: cx.delivery.queue.clone(),
        };
        Ok(checked.build(&deps)?)
    }
}

/// The relay, `POST /hooks/buildbot`: always mounted (with no reporter it answers that none
/// is configured); its reporters are the couriers of the parcels it queues.
#[async_trait]
impl Capability for ReportersConfig {
    fn name(&self) -> &'static str {
        "reporters"
    }

    async fn build(&self, cx: &mut Context) -> Result<Option<Mounted>, CapabilityError> {
        let reporters = self.for_serve(cx).await.map_err(|e| match e {
            StatusError::Store(_) => CapabilityError::start(self.name(), e),
            other => CapabilityError::config(self.name(), other),
        })?;
        let auth = RelayAuth::new(&self.relay).with_api_token(cx.serve.api_token.clone());
        let mut mounted = Mounted {
            couriers: Some(reporters.couriers()),
            ..Mounted::default()
        };
        if !auth.is_required() {
            mounted.unauthenticated.push(format!(
                "POST {} takes anonymous callers (no [reporters.relay] credentials and no \
                 [serve] api_token)",
                crate::relay::PATH
            ));
        }
        mounted.routes.push(Relay::new(reporters, auth).routes());
        Ok(Some(mounted.banner(
            "Buildbot",
            format!("POST {{base}}{} (HttpStatusPush relay)", crate::relay::PATH),
        )))
    }
}
