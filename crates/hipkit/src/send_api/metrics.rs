//! The send API's metrics (messages accepted; outbox records per state and the store's size,
//! read at scrape time) and the store's health check (can intake commit?).

use async_trait::async_trait;
use hipkit_server::{HealthCheck, ScrapeHook};
use hipkit_store::{OutboxStore, State as RecordState};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Label of the outbox gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

/// Counters and gauges of the send capability.
pub struct SendMetrics {
    /// Messages accepted by `POST /api/v1/messages`.
    pub accepted: Counter,
    outbox: Family<StateLabel, Gauge>,
    store_bytes: Gauge,
    store: Option<Arc<dyn OutboxStore>>,
}

impl SendMetrics {
    /// Metrics for a send API with (or without) an outbox store.
    pub fn new(store: Option<Arc<dyn OutboxStore>>) -> Self {
        Self {
            accepted: Counter::default(),
            outbox: Family::default(),
            store_bytes: Gauge::default(),
            store,
        }
    }

    /// Adds them to the server's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "hipkit_api_messages_accepted",
            "Messages accepted by POST /api/v1/messages",
            self.accepted.clone(),
        );
        if self.store.is_some() {
            registry.register(
                "hipkit_outbox_messages",
                "Outbox records per state",
                self.outbox.clone(),
            );
            registry.register(
                "hipkit_store_size_bytes",
                "Bytes the store takes on disk (database, WAL and shared-memory files)",
                self.store_bytes.clone(),
            );
        }
    }
}

#[async_trait]
impl ScrapeHook for SendMetrics {
    async fn refresh(&self) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let counts = store.counts().await.map_err(|e| format!("store: {e}"))?;
        for state in RecordState::ALL {
            let label = StateLabel {
                state: state.as_str().to_owned(),
            };
            self.outbox
                .get_or_create(&label)
                .set(counts.get(state) as i64);
        }
        let bytes = store
            .size_bytes()
            .await
            .map_err(|e| format!("store: {e}"))?;
        self.store_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        Ok(())
    }
}

#[async_trait]
impl HealthCheck for SendMetrics {
    async fn check(&self) -> Result<(), String> {
        match &self.store {
            // Proves intake can commit (and that the file is still the one at the path).
            Some(store) => store.health().await.map(|_| ()).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}
