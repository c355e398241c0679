//! Starting and stopping: binding, plain HTTP or HTTPS (self-signed), the world, and the
//! accept loop (`hipkit_server::serve_connections`) in the background.

use crate::config::{ConfigError, EmulatorConfig};
use crate::events::EmulatorEvent;
use crate::state::Shared;
use crate::webhooks;
use hipkit_server::{AllowedHosts, Connections, serve_connections};
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Why the emulator could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// A setting is out of its range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The self-signed certificate could not be made.
    #[error("cannot set up TLS")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The client that calls webhooks could not be built.
    #[error("cannot build the webhook client")]
    WebhookClient(#[source] reqwest::Error),
    /// The initial world is inconsistent (duplicate room or user), or no token could be made.
    #[error("invalid seed data")]
    Seed(#[source] hipkit_server::ApiError),
    /// An `allowed_hosts` entry is not a host name.
    #[error("[emulator] {0}")]
    Hosts(#[from] hipkit_server::HostError),
}

/// A running emulator.
pub struct RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:8180`.
    pub base_url: String,
    /// Bound address.
    pub local_addr: SocketAddr,
    /// The generated all-scopes token when none was configured.
    pub generated_token: Option<String>,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    firing: JoinHandle<()>,
}

impl RunningEmulator {
    /// Every change from now on, in commit order. A subscriber that falls more than
    /// `event_capacity` events behind gets `RecvError::Lagged` and skips ahead; it never
    /// slows the emulator down.
    pub fn subscribe(&self) -> broadcast::Receiver<EmulatorEvent> {
        self.shared.subscribe()
    }

    /// Stops accepting connections, closes idle ones and waits (a bounded time) for
    /// requests in progress to finish.
    pub async fn shutdown(mut self) {
        self.shared.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.firing.abort();
    }

    /// Runs until the accept loop ends (it only ends on shutdown).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Binds, builds the world and starts serving in the background.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
    config.check()?;
    let allowed_hosts = AllowedHosts::parse(&config.allowed_hosts)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let scheme = if config.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{local_addr}");
    let (shared, generated_token) =
        Shared::new(&config, base_url.clone()).map_err(StartError::Seed)?;
    let firing = start_firing(&shared, &config)?;
    let router = crate::app::router(shared.clone(), &config);
    let tls = if config.tls {
        Some(hipkit_server::self_signed_acceptor().map_err(StartError::Tls)?)
    } else {
        None
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let connections = Connections {
        header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
        max_connections: config.max_connections,
        tls,
        allowed_hosts,
    };
    // A dropped sender (the `RunningEmulator` dropped) stops serving too.
    let stop = async {
        let _ = stop_rx.await;
    };
    let task = tokio::spawn(serve_connections(listener, router, connections, stop));
    Ok(RunningEmulator {
        base_url,
        local_addr,
        generated_token,
        shared,
        stop: Some(stop_tx),
        task,
        firing,
    })
}

/// Starts the task that calls webhooks and connects the world to it.
fn start_firing(shared: &Shared, config: &EmulatorConfig) -> Result<JoinHandle<()>, StartError> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hipkit-emulator/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(StartError::WebhookClient)?;
    let (queue, jobs) = mpsc::unbounded_channel();
    shared.world().attach_firing(queue, config.webhook_queue);
    let settings = webhooks::FiringSettings::from_config(config);
    Ok(tokio::spawn(webhooks::run(
        shared.clone(),
        client,
        jobs,
        settings,
    )))
}
