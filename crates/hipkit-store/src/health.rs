//! What a store reports about itself: whether intake can commit right now.

use crate::Millis;
use serde::Serialize;

/// A passed health check: a commit went through and the database file is the one opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreHealth {
    /// When the check that this answer comes from ran (answers are cached for a moment).
    pub checked_at: Millis,
}
