//! Direct delivery with the configured retry policy (`hipkit report`): transient failures
//! are retried with the outbox's backoff, permanent ones answered at once.

use super::Outgoing;
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{Delivery, SendOptions, TransportError};

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
                let Some(wait) = policy.wait_after(&e, attempt) else {
                    return Err(e);
                };
                tracing::warn!(reporter = %report.reporter, attempt, error = %e, ?wait, "report not accepted; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}
