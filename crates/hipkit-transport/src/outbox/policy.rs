//! When to try again and when to give up.

use crate::{Retry, TransportError};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::{Duration, SystemTime};

/// Retry limits and backoff shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts before a transiently failing message goes dead.
    pub max_attempts: u32,
    /// Age after which a transiently failing message goes dead.
    pub max_age: Duration,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            max_age: Duration::from_secs(24 * 3600),
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Delay after the `attempt`-th failed attempt (1-based): exponential, factor 2, with jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempt.saturating_sub(1) as usize)
            .unwrap_or(self.max_delay)
    }

    /// When to try again after attempt `attempt` (1-based) failed as `retry` says: at the
    /// reset the server named, else after the backoff delay from `now`; `None` for a
    /// permanent failure.
    pub fn next_attempt(&self, retry: Retry, attempt: u32, now: SystemTime) -> Option<SystemTime> {
        match retry {
            Retry::Never => None,
            Retry::At(Some(reset)) => Some(reset),
            Retry::At(None) | Retry::Backoff => Some(now + self.delay(attempt)),
        }
    }

    /// How long a sender that retries in place (`hipkit report`, the log worker) waits after
    /// attempt `attempt` (1-based) failed with `error`: until [`RetryPolicy::next_attempt`],
    /// at most `max_delay` (a far reset is not slept through); `None` when the failure is
    /// permanent or that was the last attempt.
    pub fn wait_after(&self, error: &TransportError, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let now = SystemTime::now();
        let at = self.next_attempt(error.retry(), attempt, now)?;
        Some(
            at.duration_since(now)
                .unwrap_or(Duration::ZERO)
                .min(self.max_delay),
        )
    }

    /// Whether a message with these attempts and age has used up its budget.
    pub fn exhausted(&self, attempts: u32, age: Duration) -> bool {
        attempts >= self.max_attempts || age >= self.max_age
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_within_bounds_and_jitter() {
        let p = RetryPolicy {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        for attempt in 1..30 {
            let d = p.delay(attempt);
            // Jitter adds at most one base delay on top of the exponential step.
            let step = Duration::from_millis(100) * 2u32.saturating_pow(attempt - 1).min(1 << 20);
            assert!(
                d >= step.min(Duration::from_secs(5)),
                "attempt {attempt}: {d:?}"
            );
            assert!(d <= Duration::from_secs(10), "attempt {attempt}: {d:?}");
        }
        let samples: std::collections::HashSet<_> = (0..20).map(|_| p.delay(3)).collect();
        assert!(samples.len() > 1, "jittered");
    }

    #[test]
    fn waits_follow_the_failure_and_stop_after_the_last_attempt() {
        let p = RetryPolicy {
            max_attempts: 3,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let backoff = TransportError::ShuttingDown;
        let wait = p.wait_after(&backoff, 1).expect("retried");
        assert!(wait >= Duration::from_millis(100) && wait <= Duration::from_secs(5));
        assert_eq!(p.wait_after(&backoff, 3), None, "the last attempt");
        let permanent = TransportError::IdempotencyUnsupported;
        assert_eq!(p.wait_after(&permanent, 1), None);
        let far = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(
            p.next_attempt(Retry::At(Some(far)), 1, SystemTime::now()),
            Some(far)
        );
        let limited = TransportError::Push(crate::push::PushError::Status {
            status: 429,
            body: String::new(),
            retry_at: Some(far),
        });
        assert_eq!(p.wait_after(&limited, 1), Some(Duration::from_secs(5)));
    }

    #[test]
    fn budget() {
        let p = RetryPolicy::default();
        assert!(!p.exhausted(9, Duration::from_secs(1)));
        assert!(p.exhausted(10, Duration::from_secs(1)));
        assert!(p.exhausted(1, Duration::from_secs(24 * 3600)));
    }
}
