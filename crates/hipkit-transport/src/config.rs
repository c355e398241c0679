//! The `[delivery]` configuration section, and building the configured transport from it.

use crate::outbox::{DeliveryMetrics, Outbox, RetryPolicy, WorkerConfig, Workers};
use crate::{
    BackendKind, FileTransport, MemoryTransport, NullTransport, Transport, TransportError,
};
use hipkit_store::{OutboxStore, SharedStore, StoreError, now_millis};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `[delivery]`: how messages leave. Every key is optional; defaults come from
/// [`WorkerConfig::default`] and [`RetryPolicy::default`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// `http`, `memory`, `null`, `file` or `outbox` (or a djhipchat2 dotted path).
    pub backend: BackendKind,
    /// JSON-lines file for the `file` backend.
    pub file_path: PathBuf,
    /// Deliveries in flight at once (outbox).
    pub concurrency: usize,
    /// Attempts before a transiently failing message goes dead (outbox).
    pub max_attempts: u32,
    /// Age in seconds after which a failing message goes dead (outbox).
    pub max_age_secs: u64,
    /// Lease in seconds for a message being delivered (at least 1): renewed while the
    /// delivery lasts, so it is how soon another replica takes over a dead one's messages.
    pub lease_secs: u64,
    /// First backoff delay in milliseconds.
    pub backoff_min_ms: u64,
    /// Largest backoff delay in milliseconds.
    pub backoff_max_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        let workers = WorkerConfig::default();
        let retry = workers.retry;
        Self {
            backend: BackendKind::Outbox,
            file_path: PathBuf::from("hipkit-messages.jsonl"),
            concurrency: workers.concurrency,
            max_attempts: retry.max_attempts,
            max_age_secs: retry.max_age.as_secs(),
            lease_secs: workers.lease.as_secs(),
            backoff_min_ms: millis(retry.min_delay),
            backoff_max_ms: millis(retry.max_delay),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A built delivery backend: what the send API feeds, and what `serve` must run.
pub struct DeliveryBackend {
    /// Where messages are sent (the outbox itself for the `outbox` backend).
    pub transport: Arc<dyn Transport>,
    /// The outbox store (`outbox` backend): for status queries and metrics.
    pub outbox: Option<Arc<dyn OutboxStore>>,
    /// The outbox itself (`outbox` backend): it also queues parcels for couriers.
    pub queue: Option<Outbox>,
    /// The workers to run until shutdown (`outbox` backend).
    pub workers: Option<Workers>,
    /// The same transport as `transport`, for reading what was sent (`memory` backend).
    pub memory: Option<MemoryTransport>,
    /// A one-line description for the start-up banner, e.g. `outbox (SQLite hipkit.db)`.
    pub label: String,
}

impl std::fmt::Debug for DeliveryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryBackend")
            .field("label", &self.label)
            .field("workers", &self.workers.is_some())
            .finish_non_exhaustive()
    }
}

/// Why the configured backend could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The `file` backend's file could not be opened.
    #[error("cannot open the file backend: {0}")]
    File(#[source] TransportError),
    /// The `outbox` backend's store could not be opened (or is locked by another `serve`).
    #[error("cannot open the outbox: {0}")]
    Store(#[source] StoreError),
}

impl DeliveryConfig {
    /// The workers' settings. The lease need not outlast a request: the workers renew it
    /// while a delivery lasts.
    pub fn worker_config(&self) -> WorkerConfig {
        let lease = Duration::from_secs(self.lease_secs.max(1));
        WorkerConfig {
            concurrency: self.concurrency,
            lease,
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                max_age: Duration::from_secs(self.max_age_secs),
                min_delay: Duration::from_millis(self.backoff_min_ms),
                max_delay: Duration::from_millis(self.backoff_max_ms),
            },
            ..WorkerConfig::default()
        }
    }

    /// Builds the configured backend. `inner` reaches HipChat (the `http` backend, and the
    /// outbox workers' destination). The `outbox` backend opens `store` (as its single
    /// writer, or as one replica of a shared database) and first recovers the leases a
    /// previous run (under the same replica name) left behind.
    pub async fn build(
        &self,
        store: &SharedStore,
        inner: Arc<dyn Transport>,
        metrics: Arc<DeliveryMetrics>,
    ) -> Result<DeliveryBackend, BuildError> {
        let plain = |transport: Arc<dyn Transport>, label: String| DeliveryBackend {
            transport,
            outbox: None,
            queue: None,
            workers: None,
            memory: None,
            label,
        };
        Ok(match self.backend {
            BackendKind::Http => plain(inner, "http".into()),
            BackendKind::Null => plain(Arc::new(NullTransport::new()), "null".into()),
            BackendKind::Memory => {
                let memory = MemoryTransport::new();
                DeliveryBackend {
                    memory: Some(memory.clone()),
                    ..plain(Arc::new(memory), "memory".into())
                }
            }
            BackendKind::File => {
                let file = FileTransport::open(&self.file_path)
                    .await
                    .map_err(BuildError::File)?;
                let label = format!("file ({})", self.file_path.display());
                plain(Arc::new(file), label)
            }
            BackendKind::Outbox => {
                let opened = store.get().await.map_err(BuildError::Store)?;
                let db = opened.outbox.clone();
                let recovered = db
                    .recover_leases(now_millis())
                    .await
                    .map_err(BuildError::Store)?;
                tracing::info!(
                    recovered,
                    store = opened.label(),
                    "outbox opened; in-flight messages of a previous run queued again"
                );
                let outbox = Outbox::new(db.clone());
                let workers = outbox.workers(inner, self.worker_config(), metrics);
                DeliveryBackend {
                    transport: Arc::new(outbox.clone()),
                    outbox: Some(db),
                    queue: Some(outbox),
                    workers: Some(workers),
                    memory: None,
                    label: format!("outbox ({})", opened.label()),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_todays() {
        let d = DeliveryConfig::default();
        assert_eq!(d.backend, BackendKind::Outbox);
        assert_eq!(d.file_path, PathBuf::from("hipkit-messages.jsonl"));
        assert_eq!((d.concurrency, d.max_attempts), (8, 10));
        assert_eq!((d.max_age_secs, d.lease_secs), (24 * 3600, 6));
        assert_eq!((d.backoff_min_ms, d.backoff_max_ms), (500, 300_000));
        let empty: DeliveryConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, d, "serde uses the same defaults");
        let w = d.worker_config();
        assert_eq!(
            w,
            WorkerConfig::default(),
            "the default config is today's workers"
        );
    }

    #[test]
    fn keys_keep_their_meaning() {
        let d: DeliveryConfig = serde_json::from_value(serde_json::json!({
            "backend": "djhipchat.backends.dummy.HipChatBackend",
            "file_path": "out.jsonl",
            "concurrency": 3,
            "max_attempts": 4,
            "max_age_secs": 600,
            "lease_secs": 90,
            "backoff_min_ms": 10,
            "backoff_max_ms": 1000,
        }))
        .unwrap();
        assert_eq!(d.backend, BackendKind::Null);
        let w = d.worker_config();
        assert_eq!((w.concurrency, w.lease), (3, Duration::from_secs(90)));
        assert_eq!(
            w.retry,
            RetryPolicy {
                max_attempts: 4,
                max_age: Duration::from_secs(600),
                min_delay: Duration::from_millis(10),
                max_delay: Duration::from_secs(1),
            }
        );
        let round_trip = serde_json::to_value(&d).unwrap();
        assert_eq!(round_trip["backend"], "null");
        assert!(serde_json::from_str::<DeliveryConfig>(r#"{"leases": 1}"#).is_err());
    }

    #[test]
    fn the_lease_is_short_and_renewed_rather_than_longer_than_a_request() {
        let d = DeliveryConfig {
            lease_secs: 4,
            ..DeliveryConfig::default()
        };
        assert_eq!(
            d.worker_config().lease,
            Duration::from_secs(4),
            "the workers renew it while a delivery lasts"
        );
        let zero = DeliveryConfig {
            lease_secs: 0,
            ..DeliveryConfig::default()
        };
        assert_eq!(zero.worker_config().lease, Duration::from_secs(1));
    }
}
