//! The durable outbox: [`Outbox`] persists each message (group-committed in batches) and
//! answers with its id; [`Workers`] lease due records and deliver them through an inner
//! transport, with exponential backoff and jitter on transient failures, a rate gate that
//! sends nothing before a 429's reset, dead letters for permanent failures, and leases so a
//! crashed worker's messages are retried. [`Parcel`]s (HTTP pushes, messages with a
//! reporter's own token) share all of it, delivered through the workers' couriers.

mod attempt;
mod feed;
mod gate;
mod intake;
mod limits;
mod metrics;
mod policy;
mod throttle;
mod worker;

pub use gate::RateGate;
pub use limits::{SendLimits, SharedLimits};
pub use metrics::DeliveryMetrics;
pub use policy::RetryPolicy;
pub use worker::{WorkerConfig, Workers};

use crate::{
    Delivery, DeliveryState, Message, Parcel, SendOptions, Sent, Transport, TransportError,
};
use async_trait::async_trait;
use hipchat::Validate;
use hipkit_store::{Enqueued, IdempotencyKey, NewRecord, OutboxStore};
use intake::{MAX_BATCH, Pending, Ticket, WithdrawOnDrop, batch_writer};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

/// The outbox transport: `send` returns once the message is committed to the store;
/// `send_with` adds a deadline that never leaves a timed-out message stored, and
/// idempotency keys.
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
        store.wake_on_enqueue(&wake);
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

impl Outbox {
    /// Hands the records to the batch writer as one group and waits for their commit (one
    /// transaction: all or none), or until `deadline`: a group the writer has not taken by
    /// then is withdrawn ([`TransportError::TimedOut`], never stored); one it has taken is
    /// awaited and its commit reported truthfully. Answers what became of each, in order.
    async fn commit(
        &self,
        records: Vec<NewRecord>,
        deadline: Option<Instant>,
    ) -> Result<Vec<Enqueued>, TransportError> {
        let (reply, mut answer) = oneshot::channel();
        let ticket = Ticket::default();
        let pending = Pending {
            records,
            reply,
            ticket: ticket.clone(),
        };
        let guard = WithdrawOnDrop(ticket);
        let queued = self.intake.send(pending);
        match deadline {
            // A send cut short by the deadline left nothing in the channel.
            Some(at) => tokio::time::timeout_at(at, queued)
                .await
                .map_err(|_| TransportError::TimedOut)?,
            None => queued.await,
        }
        .map_err(|_| TransportError::ShuttingDown)?;
        let answer = match deadline {
            Some(at) => tokio::select! {
                biased;
                done = &mut answer => done,
                _ = tokio::time::sleep_until(at) => {
                    if guard.0.withdraw() {
                        return Err(TransportError::TimedOut);
                    }
                    // Taken before the deadline: the commit decides, however late.
                    answer.await
                }
            },
            None => answer.await,
        };
        answer
            .map_err(|_| TransportError::ShuttingDown)?
            .map_err(TransportError::Store)
    }
}

/// A hex SHA-256 of the payload: what an idempotency key's message is compared by.
fn fingerprint(payload: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(payload.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Validates `item` and encodes it as the record to store for `destination`.
fn record<T: Validate + serde::Serialize>(
    destination: String,
    item: &T,
    options: &SendOptions,
) -> Result<NewRecord, TransportError> {
    item.validate()?;
    let payload = serde_json::to_string(item).map_err(TransportError::Encode)?;
    let idempotency = options.idempotency_key.as_ref().map(|key| IdempotencyKey {
        key: key.clone(),
        fingerprint: fingerprint(&payload),
    });
    Ok(NewRecord {
        destination,
        payload,
        created_at: hipkit_store::now_millis(),
        idempotency,
        lane: options.lane.clone(),
    })
}

impl Outbox {
    /// Validates `item` and persists it as JSON for `destination` (once per idempotency
    /// key), answering with its id, by the deadline if one is given: see [`SendOptions`].
    async fn queue<T: Validate + serde::Serialize + Sync>(
        &self,
        destination: String,
        item: &T,
        options: &SendOptions,
    ) -> Result<Sent, TransportError> {
        let record = record(destination, item, options)?;
        let enqueued = self.commit(vec![record], options.deadline).await?;
        // The store answers one outcome per record; none means the writer went away.
        let Some(enqueued) = enqueued.into_iter().next() else {
            return Err(TransportError::ShuttingDown);
        };
        let (id, replayed) = match enqueued {
            Enqueued::New(id) => (id, false),
            Enqueued::Existing(id) => (id, true),
            Enqueued::Conflict(id) => {
                let key = options.idempotency_key.clone().unwrap_or_default();
                return Err(TransportError::IdempotencyConflict { key, id });
            }
        };
        Ok(Sent {
            delivery: Delivery {
                id,
                state: DeliveryState::Queued,
            },
            replayed,
        })
    }

    /// Persists a parcel for its courier (see [`crate::courier`]) like [`Transport::send_with`]
    /// persists a message; the workers deliver it through the [`crate::Couriers`] they are
    /// given.
    pub async fn send_parcel(
        &self,
        parcel: &Parcel,
        options: &SendOptions,
    ) -> Result<Sent, TransportError> {
        self.queue(parcel.destination(), parcel, options).await
    }

    /// Persists several parcels, each in its own ordered lane, in one transaction: all are
    /// stored or none is (a caller answered with an error can send them all again without
    /// duplicating any), by `deadline` if given; answers their ids in order.
    pub async fn send_parcels(
        &self,
        parcels: &[(Parcel, Option<String>)],
        deadline: Option<Instant>,
    ) -> Result<Vec<Delivery>, TransportError> {
        let records = parcels
            .iter()
            .map(|(parcel, lane)| {
                let options = SendOptions {
                    lane: lane.clone(),
                    ..SendOptions::default()
                };
                record(parcel.destination(), parcel, &options)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let enqueued = self.commit(records, deadline).await?;
        Ok(enqueued
            .into_iter()
            .map(|e| Delivery {
                id: e.id().to_owned(),
                state: DeliveryState::Queued,
            })
            .collect())
    }
}

#[async_trait]
impl Transport for Outbox {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        Ok(self
            .send_with(message, &SendOptions::default())
            .await?
            .delivery)
    }

    /// Persists the message (once per idempotency key) and answers with its id, by the
    /// deadline if one is given: see [`SendOptions`].
    async fn send_with(
        &self,
        message: &Message,
        options: &SendOptions,
    ) -> Result<Sent, TransportError> {
        self.queue(message.to.to_string(), message, options).await
    }
}
