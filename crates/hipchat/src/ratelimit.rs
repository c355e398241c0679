//! Rate-limit and flood-control headers, readable on every response.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What `X-Ratelimit-*` and `X-FloodControl-*` headers said (absent headers are `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Requests allowed per window for this token.
    pub limit: Option<u64>,
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// When the window resets (Unix epoch seconds).
    pub reset: Option<u64>,
    /// Messages allowed per window for this recipient.
    pub flood_limit: Option<u64>,
    /// Messages left for this recipient.
    pub flood_remaining: Option<u64>,
    /// When the recipient's window resets (Unix epoch seconds).
    pub flood_reset: Option<u64>,
}

impl RateLimit {
    /// Reads the headers (names are case-insensitive).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Self {
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            reset: num("x-ratelimit-reset"),
            flood_limit: num("x-floodcontrol-limit"),
            flood_remaining: num("x-floodcontrol-remaining"),
            flood_reset: num("x-floodcontrol-reset"),
        }
    }

    /// The earliest time another request may succeed after a 429: the flood-control reset
    /// when that budget is exhausted, else the token's reset.
    pub fn retry_at(&self) -> Option<SystemTime> {
        let secs = match (self.flood_remaining, self.flood_reset) {
            (Some(0), Some(flood)) => Some(flood.max(self.reset.unwrap_or(0))),
            _ => self.reset,
        }?;
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert("X-Ratelimit-Limit", "500".parse().unwrap());
        h.insert("X-Ratelimit-Remaining", "0".parse().unwrap());
        h.insert("X-Ratelimit-Reset", "1700000000".parse().unwrap());
        let rl = RateLimit::from_headers(&h);
        assert_eq!(rl.limit, Some(500));
        assert_eq!(rl.remaining, Some(0));
        assert_eq!(
            rl.retry_at(),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }
}
