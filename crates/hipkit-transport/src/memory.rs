//! Keeps every message, in order, for tests to inspect (djhipchat2's locmem backend, per
//! instance and thread-safe).

use crate::{Delivery, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::Validate;
use std::sync::{Arc, Mutex};

/// Messages a test transport was given, in order; clones share them.
#[derive(Debug, Clone, Default)]
pub(crate) struct SentLog(Arc<Mutex<Vec<Message>>>);

impl SentLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Message>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one message.
    pub(crate) fn push(&self, message: &Message) {
        self.lock().push(message.clone());
    }

    /// A copy of everything so far.
    pub(crate) fn snapshot(&self) -> Vec<Message> {
        self.lock().clone()
    }

    /// Forgets everything so far.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

/// Records messages instead of sending them; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct MemoryTransport {
    sent: SentLog,
}

impl MemoryTransport {
    /// An empty transport.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything sent so far, in order (djhipchat2's `sent_messages`).
    pub fn sent_messages(&self) -> Vec<Message> {
        self.sent.snapshot()
    }

    /// Forgets everything sent so far.
    pub fn clear(&self) {
        self.sent.clear();
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        self.sent.push(message);
        Ok(Delivery::delivered())
    }
}
