//! Storm control, part two: HipChat's flood control (30 messages per minute per room).
//! A sliding log of the last sends: at most `limit` in any 60 s, whatever the window's
//! alignment on the server.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The flood-control window.
const WINDOW: Duration = Duration::from_secs(60);

/// Sends left in the room's budget.
pub(crate) struct Budget {
    limit: usize,
    sent: VecDeque<Instant>,
}

impl Budget {
    /// At most `limit` messages per minute (at least one).
    pub fn per_minute(limit: u32) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
        Self {
            limit,
            sent: VecDeque::with_capacity(limit.min(64)),
        }
    }

    /// Messages that may be sent now.
    pub fn available(&mut self, now: Instant) -> usize {
        while self.sent.front().is_some_and(|&t| t + WINDOW <= now) {
            self.sent.pop_front();
        }
        self.limit.saturating_sub(self.sent.len())
    }

    /// Records a send that finished at `at` (the server saw it no later than that).
    pub fn spend(&mut self, at: Instant) {
        self.sent.push_back(at);
    }

    /// When a send becomes possible again, if none is now.
    pub fn next_free(&self) -> Option<Instant> {
        (self.sent.len() >= self.limit)
            .then(|| self.sent.front().map(|&t| t + WINDOW))
            .flatten()
    }
}
