//! Polling a condition with a bounded overall wait. The bound only turns a condition that
//! never holds into a failure instead of a hang: no test asserts how long anything took.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long to sleep between two checks.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it holds; panics naming `what` once `limit` has passed.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for a condition that must be awaited.
pub async fn wait_until_async<F>(what: &str, limit: Duration, mut check: impl FnMut() -> F)
where
    F: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
