//! The send capability over HTTP: `POST /api/v1/messages` (behind the API token),
//! `GET /api/v1/messages/{id}`, the outbox's health check and its metrics.

mod body;
mod handlers;
mod metrics;

pub use metrics::SendMetrics;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use hipkit_server::{Capability, CapabilityError, Context, Mounted, Routes};
use hipkit_store::OutboxStore;
use hipkit_transport::Transport;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// What the send API's handlers share.
#[derive(Clone)]
pub struct SendApi {
    /// Where accepted messages go.
    pub transport: Arc<dyn Transport>,
    /// The outbox store, when the backend is the outbox (message tracking needs it).
    pub outbox: Option<Arc<dyn OutboxStore>>,
    metrics: Arc<SendMetrics>,
}

impl SendApi {
    /// The API over a transport (and its outbox store, if any).
    pub fn new(transport: Arc<dyn Transport>, outbox: Option<Arc<dyn OutboxStore>>) -> Self {
        Self {
            transport,
            outbox: outbox.clone(),
            metrics: Arc::new(SendMetrics::new(outbox)),
        }
    }

    /// The routes, the outbox's health check and scrape hook, and the banner line, with the
    /// metrics registered in `registry`.
    fn mounted(self, registry: &mut Registry) -> Mounted {
        self.metrics.register(registry);
        let mut mounted = Mounted::default().banner("send API", "POST {base}/api/v1/messages");
        if self.outbox.is_some() {
            mounted.health.push(("store".into(), self.metrics.clone()));
            mounted.scrape.push(self.metrics.clone());
        }
        let intake = Router::new()
            .route("/api/v1/messages", post(handlers::send))
            .with_state(self.clone());
        let status = Router::new()
            .route("/api/v1/messages/{id}", get(handlers::status))
            .with_state(self);
        mounted
            .routes
            .push(Routes::protected(intake).timed_by_handler());
        mounted.routes.push(Routes::protected(status));
        mounted
    }
}

/// The send API as a `serve` capability: always on, over the context's delivery backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendApiCapability;

#[async_trait]
impl Capability for SendApiCapability {
    fn name(&self) -> &'static str {
        "send API"
    }

    async fn build(&self, cx: &mut Context) -> Result<Option<Mounted>, CapabilityError> {
        let api = SendApi::new(cx.delivery.transport.clone(), cx.delivery.outbox.clone());
        let mut mounted = api.mounted(&mut cx.registry);
        if cx.serve.api_token.is_none() {
            mounted
                .unauthenticated
                .push("POST /api/v1/messages posts for anyone (no [serve] api_token)".to_owned());
        }
        Ok(Some(mounted))
    }
}
