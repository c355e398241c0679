//! The rate gate: after a 429, nothing is sent with the token before the announced reset.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Shared by every worker of one token.
#[derive(Debug, Default)]
pub struct RateGate {
    closed_until_ms: AtomicI64,
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl RateGate {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Closes the gate until `until` (a later reset wins).
    pub fn close_until(&self, until: SystemTime) {
        self.closed_until_ms
            .fetch_max(millis(until), Ordering::SeqCst);
    }

    /// How long the gate stays closed from now; `None` when open.
    pub fn remaining(&self) -> Option<Duration> {
        let until = self.closed_until_ms.load(Ordering::SeqCst);
        let now = millis(SystemTime::now());
        (until > now).then(|| Duration::from_millis((until - now) as u64))
    }

    /// When the gate opens, in Unix milliseconds (0 if it never closed).
    pub fn open_at_ms(&self) -> i64 {
        self.closed_until_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_resets_win_and_past_ones_leave_it_open() {
        let g = RateGate::new();
        assert!(g.remaining().is_none());
        g.close_until(SystemTime::now() + Duration::from_secs(60));
        g.close_until(SystemTime::now() + Duration::from_secs(5));
        assert!(g.remaining().unwrap() > Duration::from_secs(50));
        let past = RateGate::new();
        past.close_until(SystemTime::now() - Duration::from_secs(1));
        assert!(past.remaining().is_none());
    }
}
