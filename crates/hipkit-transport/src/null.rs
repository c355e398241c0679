//! Drops every valid message and counts it (djhipchat2's dummy backend).

use crate::{Delivery, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::Validate;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Accepts and discards; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct NullTransport {
    count: Arc<AtomicU64>,
}

impl NullTransport {
    /// A transport with a zero count.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages were dropped.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Transport for NullTransport {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(Delivery::delivered())
    }
}
