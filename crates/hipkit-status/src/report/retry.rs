//! Direct delivery with the configured retry policy (`hipkit report`): transient failures
//! are retried with the outbox's backoff, permanent ones answered at once.

use super::Outgoing;
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{Delivery, Retry, SendOptions, TransportError};
use std::time::{Duration, SystemTime};

/// Sends `report`, retrying transient failures up to `policy.max_attempts` attempts with
/// `policy`'s backoff (a server's retry time is honoured, capped at `policy.max_delay`).
pub async fn send_with_retries(
    report: &Outgoing,
    policy: &RetryPolicy,
) -> Result<Delivery, TransportError> {
    let mut attempt = 1;
    loop {
        match report.send(&SendOptions::default()).await {
            Ok(delivery) => return Ok(delivery),
            Err(e) => {
                let wait = match e.retry() {
                    Retry::Never => return Err(e),
                    Retry::Backoff | Retry::At(None) => policy.delay(attempt),
                    Retry::At(Some(at)) => at
                        .duration_since(SystemTime::now())
                        .unwrap_or(Duration::ZERO)
                        .min(policy.max_delay),
                };
                if attempt >= policy.max_attempts {
                    return Err(e);
                }
                tracing::warn!(reporter = %report.reporter, attempt, error = %e, ?wait, "report not accepted; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}
