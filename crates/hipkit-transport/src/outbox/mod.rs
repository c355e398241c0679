//! The durable outbox: [`Outbox`] persists each message (group-committed in batches) and
//! answers with its id; [`Workers`] lease due records and deliver them through an inner
//! transport, with exponential backoff and jitter on transient failures, a rate gate that
//! sends nothing before a 429's reset, dead letters for permanent failures, and leases so a
//! crashed worker's messages are retried.

mod attempt;
mod feed;
mod gate;
mod metrics;
mod policy;
mod worker;

pub use gate::RateGate;
pub use metrics::DeliveryMetrics;
pub use policy::RetryPolicy;
pub use worker::{WorkerConfig, Workers};

use crate::{Delivery, DeliveryState, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::Validate;
use hipkit_store::{NewRecord, OutboxStore, StoreError};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// Most records committed in one transaction.
const MAX_BATCH: usize = 512;

struct Pending {
    record: NewRecord,
    reply: oneshot::Sender<Result<String, Arc<StoreError>>>,
}

/// The outbox transport: `send` returns once the message is committed to the store.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn OutboxStore>,
    intake: mpsc::Sender<Pending>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// Starts the batching writer on the current tokio runtime.
    pub fn new(store: Arc<dyn OutboxStore>) -> Self {
        let (intake, rx) = mpsc::channel(MAX_BATCH * 8);
        let wake = Arc::new(Notify::new());
        tokio::spawn(batch_writer(store.clone(), rx, wake.clone()));
        Self {
            store,
            intake,
            wake,
        }
    }

    /// The store behind the outbox.
    pub fn store(&self) -> &Arc<dyn OutboxStore> {
        &self.store
    }

    /// Workers that deliver this outbox's records through `inner`.
    pub fn workers(
        &self,
        inner: Arc<dyn Transport>,
        config: WorkerConfig,
        metrics: Arc<DeliveryMetrics>,
    ) -> Workers {
        Workers::new(
            self.store.clone(),
            inner,
            config,
            metrics,
            self.wake.clone(),
        )
    }
}

/// Commits whatever has queued up while the previous commit ran: one fsync per batch.
async fn batch_writer(
    store: Arc<dyn OutboxStore>,
    mut rx: mpsc::Receiver<Pending>,
    wake: Arc<Notify>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let records: Vec<NewRecord> = batch.iter().map(|p| p.record.clone()).collect();
        match store.enqueue(&records).await {
            Ok(ids) => {
                for (p, stored) in batch.into_iter().zip(ids) {
                    let _ = p.reply.send(Ok(stored.id().to_owned()));
                }
                wake.notify_one();
            }
            Err(e) => {
                tracing::error!(error = %e, records = records.len(), "outbox commit failed");
                let shared = Arc::new(e);
                for p in batch {
                    let _ = p.reply.send(Err(shared.clone()));
                }
            }
        }
    }
}

#[async_trait]
impl Transport for Outbox {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        let payload = serde_json::to_string(message).map_err(TransportError::Encode)?;
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            record: NewRecord {
                destination: message.to.to_string(),
                payload,
                created_at: hipkit_store::now_millis(),
                idempotency: None,
            },
            reply,
        };
        self.intake
            .send(pending)
            .await
            .map_err(|_| TransportError::ShuttingDown)?;
        let id = answer
            .await
            .map_err(|_| TransportError::ShuttingDown)?
            .map_err(TransportError::Store)?;
        Ok(Delivery {
            id,
            state: DeliveryState::Queued,
        })
    }
}
