//! The send capability over HTTP: `POST /api/v1/messages` (behind the API token),
//! `GET /api/v1/messages/{id}`, the outbox's health check and its metrics.

mod body;
mod handlers;
mod metrics;

pub use metrics::SendMetrics;

use axum::Router;
use axum::routing::{get, post};
use hipkit_server::{Routes, Server};
use hipkit_store::OutboxStore;
use hipkit_transport::Transport;
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

    /// Registers the routes (protected by the API token; the send route answers by the
    /// request deadline itself), metrics and health check.
    pub fn mount(self, mut server: Server) -> Server {
        self.metrics.register(server.registry());
        if self.outbox.is_some() {
            server = server
                .health_check("store", self.metrics.clone())
                .on_scrape(self.metrics.clone());
        }
        let intake = Router::new()
            .route("/api/v1/messages", post(handlers::send))
            .with_state(self.clone());
        let status = Router::new()
            .route("/api/v1/messages/{id}", get(handlers::status))
            .with_state(self);
        server
            .mount(Routes::protected(intake).timed_by_handler())
            .merge_protected(status)
    }
}
