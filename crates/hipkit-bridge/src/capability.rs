//! The bridge as a `serve` capability: `[bridge]` checked (tokens, rooms, users, each
//! destination built with its secrets read), its own listener bound, its couriers handed to
//! the outbox's workers, and the listener served as a background task until shutdown.

use crate::config::{BridgeConfig, ConfigError};
use crate::deliver::{BridgeCouriers, Destinations};
use crate::directory::Directory;
use crate::intake::{Intake, router};
use async_trait::async_trait;
use hipkit_server::rate::Windows;
use hipkit_server::{
    Capability, CapabilityError, Connections, Context, Mounted, serve_connections,
};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Why the bridge cannot start (besides its configuration).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The outbox is needed: calls are answered only once durably queued.
    #[error(
        "the bridge needs the outbox delivery backend ([delivery] backend = \"outbox\", the \
         default): it answers a call only once the call is durably queued"
    )]
    NoOutbox,
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store (where multi-part progress is kept) could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[source] hipkit_store::StoreError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The self-signed certificate could not be made.
    #[error("cannot make the self-signed TLS certificate: {0}")]
    Tls(#[source] hipkit_server::TlsError),
    /// The `[serve] allowed_hosts` are not host names.
    #[error(transparent)]
    Hosts(#[from] hipkit_server::HostError),
}

impl BridgeConfig {
    /// The destinations of this configuration, built.
    pub fn destinations(&self) -> Result<Destinations, ConfigError> {
        let mut all = Destinations::default();
        for config in &self.destinations {
            if !all.add(config.build()?) {
                return Err(ConfigError::Duplicate {
                    what: "destination",
                    name: config.name.clone(),
                });
            }
        }
        Ok(all)
    }
}

/// The bridge built, its listener bound (not yet serving).
#[derive(Debug)]
pub struct Listening {
    /// What `serve` mounts (the listener runs as its task).
    pub mounted: Mounted,
    /// The address the listener bound (integrations served beside it post through it).
    pub addr: std::net::SocketAddr,
}

#[async_trait]
impl Capability for BridgeConfig {
    fn name(&self) -> &'static str {
        "bridge"
    }

    async fn build(&self, cx: &mut Context) -> Result<Option<Mounted>, CapabilityError> {
        Ok(self.listen(cx).await?.map(|l| l.mounted))
    }
}

impl BridgeConfig {
    /// [`Capability::build`], also telling where the listener bound; `None` when the section
    /// leaves the bridge off.
    pub async fn listen(&self, cx: &mut Context) -> Result<Option<Listening>, CapabilityError> {
        let name = "bridge";
        if !self.is_on() {
            return Ok(None);
        }
        let directory = Directory::build(self).map_err(|e| CapabilityError::config(name, e))?;
        let destinations = self
            .destinations()
            .map_err(|e| CapabilityError::config(name, e))?;
        let outbox = cx
            .delivery
            .queue
            .clone()
            .ok_or_else(|| CapabilityError::config(name, StartError::NoOutbox))?;
        let summary = destinations.summary().join(", ");
        let uploads = destinations.uploading();
        // Multi-part progress is kept beside the outbox's records, in the same database.
        let store = cx
            .store
            .get()
            .await
            .map_err(|e| CapabilityError::start(name, StartError::Store(e)))?;
        let couriers = BridgeCouriers::new(destinations, Some(store.kv))
            .map_err(|e| CapabilityError::start(name, StartError::Client(e)))?;
        let addr = self.listen_addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| CapabilityError::start(name, StartError::Bind { addr, source }))?;
        let local = listener
            .local_addr()
            .map_err(|source| CapabilityError::start(name, StartError::Bind { addr, source }))?;
        let tls = if self.tls {
            Some(
                hipkit_server::self_signed_acceptor()
                    .map_err(|e| CapabilityError::start(name, StartError::Tls(e)))?,
            )
        } else {
            None
        };
        let scheme = if self.tls { "https" } else { "http" };
        let base = format!("{scheme}://{local}");
        let connections = Connections {
            header_read_timeout: cx.serve.header_read_timeout(),
            max_connections: cx.serve.max_connections,
            tls,
            allowed_hosts: cx
                .serve
                .hosts()
                .map_err(|e| CapabilityError::config(name, StartError::Hosts(e)))?,
        };
        let links = self
            .public_url
            .as_deref()
            .map_or_else(|| base.clone(), |u| u.trim_end_matches('/').to_owned());
        let intake = Arc::new(Intake {
            directory,
            outbox,
            base: links,
            windows: Windows::default(),
            uploads,
        });
        let app = router(
            intake,
            cx.serve.max_body_bytes,
            self.max_file(),
            cx.serve.request_timeout(),
        );
        let mut mounted = Mounted {
            couriers: Some(Arc::new(couriers)),
            ..Mounted::default()
        };
        mounted.tasks.push(Box::new(move |mut stop| {
            Box::pin(async move {
                let stopped = async move {
                    while !*stop.borrow() {
                        if stop.changed().await.is_err() {
                            break;
                        }
                    }
                };
                serve_connections(listener, app, connections, stopped).await;
            })
        }));
        let mounted = mounted
            .banner("bridge", format!("HipChat API on {base} (v2 and v1)"))
            .banner(
                "to",
                if summary.is_empty() {
                    "no destinations".to_owned()
                } else {
                    summary
                },
            );
        Ok(Some(Listening {
            mounted,
            addr: local,
        }))
    }
}
