//! How a message leaves hipkit: one small [`Transport`] trait (lettre is the model) and its
//! transports: [`HttpTransport`] (HipChat API), [`MemoryTransport`] (keeps every message, for
//! tests), [`StubTransport`] (records, and succeeds or fails on demand, for testing error
//! paths), [`NullTransport`] (drops and counts), [`FileTransport`] (JSON lines) and the durable
//! [`outbox`] (persists, then workers deliver through an inner transport with retries,
//! backoff, rate-limit handling and dead letters). Beside HipChat rooms and users the outbox
//! carries [`Parcel`]s: HipChat messages and generic HTTP pushes ([`push`]) delivered by a
//! named [`courier`] whose secrets come from the live configuration, never from the store.

mod backend;
#[cfg(feature = "outbox")]
mod config;
pub mod courier;
mod error;
mod file;
mod http;
mod memory;
mod message;
mod null;
#[cfg(feature = "outbox")]
pub mod outbox;
/// Without the `outbox` feature: only the retry policy (hipkit-log's direct deliveries use it).
#[cfg(not(feature = "outbox"))]
pub mod outbox {
    mod policy;
    pub use policy::RetryPolicy;
}
pub mod push;
mod stub;

pub use backend::BackendKind;
#[cfg(feature = "outbox")]
pub use config::{BuildError, DeliveryBackend, DeliveryConfig};
pub use courier::{
    ChatItem, CourierClash, CourierSet, Couriers, NoCouriers, Parcel, ParcelItem, ReplyItem,
};
pub use error::{Retry, TransportError};
pub use file::FileTransport;
pub use http::HttpTransport;
pub use memory::MemoryTransport;
pub use message::{Destination, Message};
pub use null::NullTransport;
pub use stub::{StubError, StubTransport};

use async_trait::async_trait;

/// What happened to a message handed to a transport.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// An id for the message (the outbox id for the outbox transport).
    pub id: String,
    /// Delivered now, or durably queued for delivery.
    pub state: DeliveryState,
}

/// Whether a message has reached its destination yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// The destination accepted it.
    Delivered,
    /// Persisted; workers will deliver it.
    Queued,
}

impl Delivery {
    /// A delivered message with a fresh id.
    pub fn delivered() -> Self {
        Self {
            // A reference for logs and API answers, not a secret: a fast non-cryptographic
            // source spares a getrandom system call per message.
            id: uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
                .into_uuid()
                .to_string(),
            state: DeliveryState::Delivered,
        }
    }
}

/// How to send one message: an answer deadline, an idempotency key and an ordered lane, all
/// optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Answer by then: the outbox answers [`TransportError::TimedOut`] (not stored) unless
    /// its commit had already started, then it waits for the commit and tells its result;
    /// direct transports answer [`TransportError::OutcomeUnknown`].
    pub deadline: Option<tokio::time::Instant>,
    /// The client's key for this message: the outbox stores a key's message once and answers
    /// a repeat with the first id (see [`Sent::replayed`]); other transports refuse keys
    /// ([`TransportError::IdempotencyUnsupported`]).
    pub idempotency_key: Option<String>,
    /// The outbox's ordered lane for this message (see [`hipkit_store::NewRecord::lane`]):
    /// the outbox delivers a lane's messages one at a time in the order it accepted them.
    /// Direct transports deliver at once, so they keep the caller's order without it.
    pub lane: Option<String>,
}

/// The answer to [`Transport::send_with`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sent {
    /// The message's id and state.
    #[serde(flatten)]
    pub delivery: Delivery,
    /// The idempotency key was already stored: `delivery` is the first request's answer
    /// again, and nothing new was stored.
    pub replayed: bool,
}

/// Sends messages to rooms or users.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends one message (the outbox: persists it and returns its id).
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError>;

    /// Sends one message under [`SendOptions`]. The default bounds [`Transport::send`] by
    /// the deadline (its outcome is then unknown) and refuses idempotency keys; the outbox
    /// overrides it with a deadline that never leaves a timed-out message stored.
    async fn send_with(
        &self,
        message: &Message,
        options: &SendOptions,
    ) -> Result<Sent, TransportError> {
        if options.idempotency_key.is_some() {
            return Err(TransportError::IdempotencyUnsupported);
        }
        let delivery = match options.deadline {
            None => self.send(message).await?,
            Some(deadline) => tokio::time::timeout_at(deadline, self.send(message))
                .await
                .map_err(|_| TransportError::OutcomeUnknown)??,
        };
        Ok(Sent {
            delivery,
            replayed: false,
        })
    }

    /// Sends one message, answering by `deadline` (see [`SendOptions::deadline`]).
    async fn send_by(
        &self,
        message: &Message,
        deadline: tokio::time::Instant,
    ) -> Result<Delivery, TransportError> {
        let options = SendOptions {
            deadline: Some(deadline),
            ..SendOptions::default()
        };
        Ok(self.send_with(message, &options).await?.delivery)
    }
}
