//! HipChat-style rate limits: per token, and flood control per recipient, in fixed windows.

use crate::config::RateSpec;
use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// HipChat's documented per-token limit, reported when none is enforced.
const DEFAULT_RATE: RateSpec = RateSpec {
    limit: 500,
    window_secs: 300,
};
/// HipChat's documented per-recipient flood limit, reported when none is enforced.
const DEFAULT_FLOOD: RateSpec = RateSpec {
    limit: 30,
    window_secs: 60,
};

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Limit per window.
    pub limit: u64,
    /// Left in this window.
    pub remaining: u64,
    /// Window end, Unix seconds.
    pub reset: u64,
    /// Whether this request is over an enforced limit.
    pub exceeded: bool,
}

impl Count {
    /// Writes `X-{prefix}-Limit/Remaining/Reset`.
    pub fn write_headers(&self, prefix: &str, headers: &mut HeaderMap) {
        for (suffix, value) in [
            ("Limit", self.limit),
            ("Remaining", self.remaining),
            ("Reset", self.reset),
        ] {
            if let Ok(name) = axum::http::HeaderName::try_from(format!("x-{prefix}-{suffix}")) {
                headers.insert(name, HeaderValue::from(value));
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: u64,
    used: u64,
}

/// Fixed-window counters keyed by token label or recipient.
#[derive(Debug)]
pub struct Limiter {
    rate: (RateSpec, bool),
    flood: (RateSpec, bool),
    tokens: Mutex<HashMap<String, Window>>,
    recipients: Mutex<HashMap<String, Window>>,
    /// A reset forced by fault injection: 429 for every token until this Unix second.
    forced_until: Mutex<HashMap<String, u64>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn count(map: &Mutex<HashMap<String, Window>>, key: &str, spec: RateSpec, enforce: bool) -> Count {
    let now = now_secs();
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    let w = map.entry(key.to_owned()).or_insert(Window {
        start: now,
        used: 0,
    });
    let window_end = w.start.saturating_add(spec.window_secs);
    if now >= window_end {
        *w = Window {
            start: now,
            used: 0,
        };
    }
    let exceeded = enforce && w.used >= spec.limit;
    if !exceeded {
        w.used = w.used.saturating_add(1);
    }
    Count {
        limit: spec.limit,
        remaining: spec.limit.saturating_sub(w.used),
        reset: w.start.saturating_add(spec.window_secs),
        exceeded,
    }
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

fn peek_all(map: &Mutex<HashMap<String, Window>>, spec: RateSpec) -> Vec<(String, Count)> {
    let now = now_secs();
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    let mut out: Vec<(String, Count)> = map
        .iter()
        .map(|(key, w)| {
            let ended = now >= w.start.saturating_add(spec.window_secs);
            let used = if ended { 0 } else { w.used };
            let count = Count {
                limit: spec.limit,
                remaining: spec.limit.saturating_sub(used),
                reset: w.start.saturating_add(spec.window_secs),
                exceeded: false,
            };
            (key.clone(), count)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

impl Limiter {
    /// Enforces the given limits; `None` reports HipChat's defaults without enforcing.
    pub fn new(rate: Option<RateSpec>, flood: Option<RateSpec>) -> Self {
        Self {
            rate: (rate.unwrap_or(DEFAULT_RATE), rate.is_some()),
            flood: (flood.unwrap_or(DEFAULT_FLOOD), flood.is_some()),
            tokens: Mutex::default(),
            recipients: Mutex::default(),
            forced_until: Mutex::default(),
        }
    }

    /// Counts a request by `token`.
    pub fn count_token(&self, token: &str) -> Count {
        let mut c = count(&self.tokens, token, self.rate.0, self.rate.1);
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
        count(&self.recipients, recipient, self.flood.0, self.flood.1)
    }

    /// The current budgets without counting anything: per token label, then per recipient
    /// (`room:ID`, `user:ID`), each sorted by key; windows that have ended show a full budget.
    pub fn budgets(&self) -> Budgets {
        Budgets {
            rate: self.rate,
            flood: self.flood,
            tokens: peek_all(&self.tokens, self.rate.0),
            recipients: peek_all(&self.recipients, self.flood.0),
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
