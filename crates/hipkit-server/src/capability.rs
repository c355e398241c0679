//! The one shape of a `hipkit serve` capability, in the spirit of vector's
//! `SinkConfig::build`: a capability's section builds, from the [`Context`] every capability
//! shares, a [`Mounted`] part (its routes, banner lines, health checks, metrics hooks,
//! couriers, background tasks and shutdown). `serve` builds the context once, builds each
//! capability of its list in order, mounts and announces what they return, runs their tasks
//! and shuts them down in reverse order.

use crate::{HealthCheck, Routes, ScrapeHook, ServerConfig};
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use hipkit_store::SharedStore;
use hipkit_transport::{Couriers, DeliveryBackend};
use prometheus_client::registry::Registry;
use std::error::Error as StdError;
use std::sync::Arc;
use tokio::sync::watch;

/// A capability `serve` can mount: usually its configuration section.
#[async_trait]
pub trait Capability: Send + Sync {
    /// Its name in errors and logs (`relay`, `integrations`).
    fn name(&self) -> &'static str;

    /// Builds what it mounts from the shared context; `None` when its section leaves it off.
    async fn build(&self, cx: &mut Context) -> Result<Option<Mounted>, CapabilityError>;
}

/// What every capability is built from: one of each, made once by `serve`.
pub struct Context {
    /// `[serve]`: the listener's settings (its API token decides what admin routes answer).
    pub serve: ServerConfig,
    /// `[hipchat]`, resolved: the endpoint is the built-in emulator's when that stands in.
    pub hipchat: hipchat::ClientConfig,
    /// The one `[store]` database (one object, one pool), opened at its first use.
    pub store: SharedStore,
    /// Where messages go: the delivery backend every capability sends through. Its workers
    /// are run by `serve`, with the couriers the capabilities return.
    pub delivery: DeliveryBackend,
    /// The one metrics registry every capability registers into.
    pub registry: Registry,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("serve", &self.serve)
            .field("store", &self.store)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

/// A background task: started once the server listens, told to stop by the watch turning
/// `true`, awaited before the capabilities shut down.
pub type Task = Box<dyn FnOnce(watch::Receiver<bool>) -> BoxFuture<'static, ()> + Send>;

/// What one capability adds to `serve`.
#[derive(Default)]
pub struct Mounted {
    /// Routes to mount on the shared listener.
    pub routes: Vec<Routes>,
    /// Start-up lines (`label`, text); `{base}` in a text stands for the listener's base URL.
    pub banner: Vec<(String, String)>,
    /// Dependencies `/healthz` checks, by name.
    pub health: Vec<(String, Arc<dyn HealthCheck>)>,
    /// Hooks run before each `/metrics` scrape.
    pub scrape: Vec<Arc<dyn ScrapeHook>>,
    /// Its entry points anyone who reaches the listener may call (`POST /hooks/buildbot
    /// takes anonymous callers`): `serve` refuses to listen beyond loopback with any, unless
    /// `[serve] unauthenticated_beyond_loopback` says that is meant.
    pub unauthenticated: Vec<String>,
    /// Couriers for the outbox's parcels queued by this capability.
    pub couriers: Option<Arc<dyn Couriers>>,
    /// Background tasks.
    pub tasks: Vec<Task>,
    /// Run at shutdown, after the listener stopped and every task ended.
    pub shutdown: Option<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mounted")
            .field("routes", &self.routes)
            .field("banner", &self.banner)
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Mounted {
    /// Adds a start-up line.
    pub fn banner(mut self, label: &str, text: impl Into<String>) -> Self {
        self.banner.push((label.to_owned(), text.into()));
        self
    }
}

/// Why a capability could not be built; the binary exits 2 for [`Self::Config`].
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    /// Its section (or a file it names) is wrong.
    #[error("{capability}: {source}")]
    Config {
        /// The capability.
        capability: &'static str,
        /// What is wrong.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Something it needs could not be started (the store, a process).
    #[error("{capability}: {source}")]
    Start {
        /// The capability.
        capability: &'static str,
        /// What failed.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl CapabilityError {
    /// A wrong section of `capability`.
    pub fn config(capability: &'static str, e: impl StdError + Send + Sync + 'static) -> Self {
        Self::Config {
            capability,
            source: Box::new(e),
        }
    }

    /// A start-up failure of `capability`.
    pub fn start(capability: &'static str, e: impl StdError + Send + Sync + 'static) -> Self {
        Self::Start {
            capability,
            source: Box::new(e),
        }
    }
}
