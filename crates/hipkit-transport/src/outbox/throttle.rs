//! Backoff for repeated failures: a store that fails (full disk, deleted file) fails every
//! call, so the loops that call it log the first failure, then at most once per growing
//! interval with a count of the repeats left unlogged, and wait as long before retrying.

use std::time::Duration;
use tokio::time::Instant;

/// One failing call site's backoff: doubling from `first` up to `max` while failures last.
#[derive(Debug, Clone)]
pub(super) struct Throttle {
    first: Duration,
    max: Duration,
    delay: Duration,
    quiet_until: Option<Instant>,
    suppressed: u64,
}

impl Default for Throttle {
    /// One second, doubling up to a minute.
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Throttle {
    /// Backoff starting at `first`, doubling up to `max`.
    pub(super) fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            delay: first,
            quiet_until: None,
            suppressed: 0,
        }
    }

    /// Counts a failure at `now`: `Some(repeats not logged since the last log)` when this
    /// one should be logged, `None` while the current interval lasts.
    pub(super) fn failed(&mut self, now: Instant) -> Option<u64> {
        if self.quiet_until.is_some_and(|until| now < until) {
            self.suppressed += 1;
            return None;
        }
        self.quiet_until = Some(now + self.delay);
        self.delay = (self.delay * 2).min(self.max);
        Some(std::mem::take(&mut self.suppressed))
    }

    /// The failures are over: the next one is logged at once, with the first interval.
    pub(super) fn succeeded(&mut self) {
        *self = Self::new(self.first, self.max);
    }

    /// How long from `now` a caller should wait before trying again (zero when not failing).
    pub(super) fn wait(&self, now: Instant) -> Duration {
        self.quiet_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails every `every` for `total`, returning the (time, suppressed) of each logged one.
    async fn hammer(t: &mut Throttle, every: Duration, total: Duration) -> Vec<(u64, u64)> {
        let start = Instant::now();
        let mut logged = Vec::new();
        while start.elapsed() < total {
            if let Some(suppressed) = t.failed(Instant::now()) {
                logged.push((start.elapsed().as_millis() as u64, suppressed));
            }
            tokio::time::advance(every).await;
        }
        logged
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_failures_are_logged_with_backoff_and_a_count() {
        let mut t = Throttle::new(Duration::from_secs(1), Duration::from_secs(8));
        // ~270 failures a second for 20 s, as seen on a full disk.
        let logged = hammer(&mut t, Duration::from_millis(4), Duration::from_secs(20)).await;
        let times: Vec<u64> = logged.iter().map(|(at, _)| *at).collect();
        assert_eq!(times, [0, 1000, 3000, 7000, 15000], "1, 2, 4, 8, 8 s apart");
        assert_eq!(logged[0].1, 0, "the first failure is logged at once");
        assert_eq!(logged[1].1, 249, "the repeats in between are counted");
        assert_eq!(logged[4].1, 1999);
        assert_eq!(
            t.wait(Instant::now()),
            Duration::from_secs(3),
            "callers back off too"
        );

        t.succeeded();
        assert_eq!(
            t.failed(Instant::now()),
            Some(0),
            "a new outage logs at once"
        );
        assert!(t.failed(Instant::now()).is_none());
        assert_eq!(
            t.wait(Instant::now()),
            Duration::from_secs(1),
            "from the start"
        );
    }
}
