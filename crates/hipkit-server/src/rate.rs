//! HipChat's rate-limit bookkeeping, shared by the emulator (which may enforce a limit) and
//! the bridge (which reports HipChat's documented one): fixed windows per key (a token's
//! label, a recipient) and the `X-Ratelimit-*` headers HipChat answered with.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// HipChat's documented per-token limit: 500 requests ...
pub const TOKEN_LIMIT: u64 = 500;
/// ... per 5 minutes.
pub const TOKEN_WINDOW_SECS: u64 = 300;

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
            if let Ok(name) = HeaderName::try_from(format!("x-{prefix}-{suffix}")) {
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

/// The current Unix second.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Fixed-window counters by key.
#[derive(Debug, Default)]
pub struct Windows {
    map: Mutex<HashMap<String, Window>>,
}

impl Windows {
    /// Counts a request by `key` against `limit` per `window_secs`; over an `enforce`d limit
    /// it is not counted and comes back `exceeded`.
    pub fn count(&self, key: &str, limit: u64, window_secs: u64, enforce: bool) -> Count {
        let now = now_secs();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let w = map.entry(key.to_owned()).or_insert(Window {
            start: now,
            used: 0,
        });
        if now >= w.start.saturating_add(window_secs) {
            *w = Window {
                start: now,
                used: 0,
            };
        }
        let exceeded = enforce && w.used >= limit;
        if !exceeded {
            w.used = w.used.saturating_add(1);
        }
        Count {
            limit,
            remaining: limit.saturating_sub(w.used),
            reset: w.start.saturating_add(window_secs),
            exceeded,
        }
    }

    /// Every key's budget without counting, sorted by key; ended windows show a full one.
    pub fn peek_all(&self, limit: u64, window_secs: u64) -> Vec<(String, Count)> {
        let now = now_secs();
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(String, Count)> = map
            .iter()
            .map(|(key, w)| {
                let ended = now >= w.start.saturating_add(window_secs);
                let used = if ended { 0 } else { w.used };
                let count = Count {
                    limit,
                    remaining: limit.saturating_sub(used),
                    reset: w.start.saturating_add(window_secs),
                    exceeded: false,
                };
                (key.clone(), count)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
