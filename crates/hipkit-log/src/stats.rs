//! Counters shared by the callers, the background task and the guard.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where every emitted record ended up, so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Records the transport accepted (delivered, or durably queued by the outbox); a
    /// coalesced summary counts for every record it stands for.
    pub delivered: u64,
    /// Records refused because the channel was full (or the log was shut down).
    pub dropped: u64,
    /// Records whose post failed (each failure was written to stderr).
    pub failed: u64,
    /// Records accepted but not yet delivered or failed (still pending at the deadline).
    pub pending: u64,
}

impl ShutdownReport {
    /// Records that did not reach the room: dropped, failed or still pending.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed + self.pending
    }
}

/// The live counters behind a [`ShutdownReport`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    accepted: AtomicU64,
    dropped: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl Stats {
    /// One record entered the channel.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` records were dropped.
    pub fn dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` records reached the transport.
    pub fn delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` records could not be posted.
    pub fn failed(&self, n: u64) {
        self.failed.fetch_add(n, Ordering::Relaxed);
    }

    /// Records dropped so far.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The counts now.
    pub fn report(&self) -> ShutdownReport {
        let delivered = self.delivered.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        ShutdownReport {
            delivered,
            dropped: self.dropped.load(Ordering::Relaxed),
            failed,
            pending: self
                .accepted
                .load(Ordering::Relaxed)
                .saturating_sub(delivered + failed),
        }
    }
}
