//! `GET /metrics`: Prometheus text with outbox gauges read from the store at scrape time.

use super::{ApiError, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hipkit_store::State as RecordState;
use hipkit_transport::outbox::DeliveryMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Label of the outbox gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    state: String,
}

/// The registry and the metrics the app updates.
pub struct Metrics {
    registry: Registry,
    /// Messages accepted by `POST /api/v1/messages`.
    pub accepted: Counter,
    outbox: Family<StateLabel, Gauge>,
    /// Worker metrics (shared with the outbox workers).
    pub delivery: Arc<DeliveryMetrics>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let accepted = Counter::default();
        let outbox = Family::<StateLabel, Gauge>::default();
        let delivery = Arc::new(DeliveryMetrics::default());
        registry.register(
            "hipkit_api_messages_accepted",
            "Messages accepted by POST /api/v1/messages",
            accepted.clone(),
        );
        registry.register(
            "hipkit_outbox_messages",
            "Outbox records per state",
            outbox.clone(),
        );
        delivery.register(&mut registry);
        Self {
            registry,
            accepted,
            outbox,
            delivery,
        }
    }
}

/// Prometheus text exposition.
pub async fn render(State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Some(store) = &s.store {
        let counts = store
            .counts()
            .await
            .map_err(|e| ApiError::unavailable(format!("store: {e}")))?;
        for state in RecordState::ALL {
            s.metrics
                .outbox
                .get_or_create(&StateLabel {
                    state: state.as_str().to_owned(),
                })
                .set(counts.get(state) as i64);
        }
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &s.metrics.registry)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
