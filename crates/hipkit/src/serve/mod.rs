//! The `hipkit serve` HTTP app: one axum router over shared state.

mod api;
mod error;
mod metrics;

pub use error::ApiError;
pub use metrics::Metrics;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hipkit_store::OutboxStore;
use hipkit_transport::Transport;
use std::sync::Arc;
use std::time::Duration;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Where accepted messages go.
    pub transport: Arc<dyn Transport>,
    /// The outbox store, when the backend is the outbox.
    pub store: Option<Arc<dyn OutboxStore>>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Token required on `/api/*`, if any.
    pub api_token: Option<hipchat::Token>,
    /// Per-request time limit.
    pub request_timeout: Duration,
}

/// Builds the app with its body limit, request timeout and API authentication.
pub fn router(state: AppState, max_body: usize) -> Router {
    let api = Router::new()
        .route("/messages", post(api::send))
        .route("/messages/{id}", get(api::status))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(api::health))
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn time_limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(s.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::unavailable("the request timed out").into_response(),
    }
}

/// Constant-time comparison, so response timing says nothing about the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = &s.api_token else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(given.as_bytes(), expected.expose().as_bytes()) {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}
