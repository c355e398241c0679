//! HipChat-style rate limits: per token, and flood control per recipient, in fixed windows.

use crate::config::RateSpec;
use hipkit_server::rate::{TOKEN_LIMIT, TOKEN_WINDOW_SECS, Windows, now_secs};
use std::collections::HashMap;
use std::sync::Mutex;

/// HipChat's documented per-token limit, reported when none is enforced.
const DEFAULT_RATE: RateSpec = RateSpec {
    limit: TOKEN_LIMIT,
    window_secs: TOKEN_WINDOW_SECS,
};
/// HipChat's documented per-recipient flood limit, reported when none is enforced.
const DEFAULT_FLOOD: RateSpec = RateSpec {
    limit: 30,
    window_secs: 60,
};

pub use hipkit_server::rate::Count;

/// Fixed-window counters keyed by token label or recipient.
#[derive(Debug)]
pub struct Limiter {
    rate: (RateSpec, bool),
    flood: (RateSpec, bool),
    tokens: Windows,
    recipients: Windows,
    /// A reset forced by fault injection: 429 for every token until this Unix second.
    forced_until: Mutex<HashMap<String, u64>>,
}

/// A read-only view of the limiter for the web UI.
#[derive(Debug, Clone)]
pub struct Budgets {
    /// Per-token limit and whether it is enforced.
    pub rate: (RateSpec, bool),
    /// Per-recipient limit and whether it is enforced.
    pub flood: (RateSpec, bool),
    /// Token label → budget.
    pub tokens: Vec<(String, Count)>,
    /// Recipient → budget.
    pub recipients: Vec<(String, Count)>,
}

impl Limiter {
    /// Enforces the given limits; `None` reports HipChat's defaults without enforcing.
    pub fn new(rate: Option<RateSpec>, flood: Option<RateSpec>) -> Self {
        Self {
            rate: (rate.unwrap_or(DEFAULT_RATE), rate.is_some()),
            flood: (flood.unwrap_or(DEFAULT_FLOOD), flood.is_some()),
            tokens: Windows::default(),
            recipients: Windows::default(),
            forced_until: Mutex::default(),
        }
    }

    /// Counts a request by `token`.
    pub fn count_token(&self, token: &str) -> Count {
        let (spec, enforce) = self.rate;
        let mut c = self
            .tokens
            .count(token, spec.limit, spec.window_secs, enforce);
        let forced = self
            .forced_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .copied();
        if let Some(until) = forced.filter(|u| *u > now_secs()) {
            c.exceeded = true;
            c.remaining = 0;
            c.reset = until;
        }
        c
    }

    /// Counts a message to `recipient` (flood control).
    pub fn count_recipient(&self, recipient: &str) -> Count {
        let (spec, enforce) = self.flood;
        self.recipients
            .count(recipient, spec.limit, spec.window_secs, enforce)
    }

    /// The current budgets without counting anything: per token label, then per recipient
    /// (`room:ID`, `user:ID`), each sorted by key; windows that have ended show a full budget.
    pub fn budgets(&self) -> Budgets {
        Budgets {
            rate: self.rate,
            flood: self.flood,
            tokens: self
                .tokens
                .peek_all(self.rate.0.limit, self.rate.0.window_secs),
            recipients: self
                .recipients
                .peek_all(self.flood.0.limit, self.flood.0.window_secs),
        }
    }

    /// Makes every request by `token` answer 429 until `until` (Unix seconds).
    pub fn force_reset(&self, token: &str, until: u64) {
        self.forced_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_owned(), until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforced_limit_refuses_after_n_and_reports_headers() {
        let l = Limiter::new(
            Some(RateSpec {
                limit: 2,
                window_secs: 3600,
            }),
            None,
        );
        assert!(!l.count_token("a").exceeded);
        let second = l.count_token("a");
        assert_eq!(second.remaining, 0);
        assert!(!second.exceeded);
        assert!(l.count_token("a").exceeded);
        assert!(!l.count_token("b").exceeded);
    }

    #[test]
    fn a_window_to_the_end_of_time_saturates() {
        let forever = RateSpec {
            limit: 1,
            window_secs: u64::MAX,
        };
        let l = Limiter::new(Some(forever), None);
        assert_eq!(l.count_token("a").reset, u64::MAX);
        assert!(l.count_token("a").exceeded, "the window still holds");
        l.force_reset("b", u64::MAX);
        assert!(l.count_token("b").exceeded);
    }

    #[test]
    fn unenforced_limits_only_report() {
        let l = Limiter::new(None, None);
        for _ in 0..40 {
            assert!(!l.count_recipient("room:1").exceeded);
        }
        assert_eq!(l.count_recipient("room:1").limit, 30);
    }
}
