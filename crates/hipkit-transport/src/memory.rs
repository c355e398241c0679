//! Keeps every message, in order, for tests to inspect (djhipchat2's locmem backend, per
//! instance and thread-safe).

use crate::{Delivery, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::Validate;
use std::sync::{Arc, Mutex};

/// Records messages instead of sending them; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct MemoryTransport {
    sent: Arc<Mutex<Vec<Message>>>,
}

impl MemoryTransport {
    /// An empty transport.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything sent so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forgets everything sent so far.
    pub fn clear(&self) {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message.clone());
        Ok(Delivery::delivered())
    }
}
