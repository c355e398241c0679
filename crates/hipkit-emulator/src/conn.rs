//! What a connection hands each of its requests: a way to close it unanswered.

use std::sync::Arc;
use tokio::sync::Notify;

/// Put into every request's extensions; notifying it closes the connection unanswered.
#[derive(Clone, Default)]
pub struct ConnectionKill(pub Arc<Notify>);
