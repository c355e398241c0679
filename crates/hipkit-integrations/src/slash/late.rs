//! Replies posted to a slash command's `response_url` (a call that ran past [`super::ACK_WITHIN`],
//! the later parts of a long reply) go through the outbox: [`LateReplies`] queues them, one
//! record per part in one ordered lane per `response_url`, and [`ReplyCouriers`] posts them
//! with the outbox's retries and backoff, so a restart does not lose them. A refusal (any
//! 4xx but 429) or a URL past its validity dead-letters the record with the reason.
//!
//! The `response_url` is a short-lived capability URL (its path is the secret). The record
//! keeps it, since it must be posted to after a restart, but never shows it: the outbox's
//! listing, logs, errors and `Debug` show its scheme and host only
//! ([`hipchat::redact_capability_url`]). Nothing else is stored: no token, no signing secret.

use super::Platform;
use async_trait::async_trait;
use hipkit_transport::outbox::Outbox;
use hipkit_transport::push::{Header, PushClient, PushError, PushRequest, Verify};
use hipkit_transport::{Couriers, Delivery, Parcel, ParcelItem, ReplyItem, TransportError};
use serde_json::Value;
use std::time::Duration;

/// How long a `response_url` takes posts after the command: 30 minutes on Slack (its
/// slash-command docs: up to 5 posts within 30 minutes) and on Mattermost (its server's
/// `CommandWebhookLifetime`, also 5 uses).
pub const RESPONSE_URL_VALID: Duration = Duration::from_secs(30 * 60);

impl Platform {
    /// The name of the courier that posts this platform's replies (`slack:response_url`).
    pub fn courier(self) -> &'static str {
        match self {
            Self::Slack => "slack:response_url",
            Self::Mattermost => "mattermost:response_url",
        }
    }

    /// Which platform's courier `via` names.
    fn of_courier(via: &str) -> Option<Self> {
        [Self::Slack, Self::Mattermost]
            .into_iter()
            .find(|p| p.courier() == via)
    }
}

/// Queues late replies in `hipkit serve`'s outbox.
#[derive(Debug, Clone)]
pub struct LateReplies {
    outbox: Outbox,
}

impl LateReplies {
    /// Late replies queued in `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }

    /// Queues `parts` for `url` (a command of `platform` received at `received_at`, Unix
    /// milliseconds) in one transaction, to be posted in order; logs what became of them
    /// (naming `call`, never the URL).
    pub async fn queue(
        &self,
        platform: Platform,
        url: &str,
        parts: Vec<Value>,
        received_at: i64,
        call: &str,
    ) {
        let lane = lane(url);
        let expires_at = received_at.saturating_add(RESPONSE_URL_VALID.as_millis() as i64);
        let parcels: Vec<(Parcel, Option<String>)> = parts
            .into_iter()
            .map(|body| {
                let item = ReplyItem {
                    url: url.to_owned(),
                    body,
                    expires_at,
                };
                let parcel = Parcel {
                    via: platform.courier().to_owned(),
                    item: ParcelItem::Reply(item),
                };
                (parcel, Some(lane.clone()))
            })
            .collect();
        let platform = platform.name();
        match self.outbox.send_parcels(&parcels, None).await {
            Ok(queued) => {
                let parts = queued.len();
                tracing::info!(platform, call, parts, "late reply queued");
            }
            Err(e) => tracing::error!(platform, call, "late reply not queued, so lost: {e}"),
        }
    }
}

/// The ordered lane of `url`'s replies: a digest, since the lane is shown and the URL's path
/// is a secret.
fn lane(url: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("response_url {hex}")
}

/// The couriers that post late replies to their `response_url`.
#[derive(Debug)]
pub struct ReplyCouriers {
    client: PushClient,
}

impl ReplyCouriers {
    /// Couriers verifying TLS with the system's roots.
    pub fn new() -> Result<Self, PushError> {
        Ok(Self {
            client: PushClient::new(&Verify::Enabled(true), false)?,
        })
    }
}

fn undeliverable(via: &str, reason: impl Into<String>) -> TransportError {
    TransportError::Undeliverable {
        via: via.to_owned(),
        reason: reason.into(),
    }
}

#[async_trait]
impl Couriers for ReplyCouriers {
    async fn deliver(&self, parcel: &Parcel) -> Result<Delivery, TransportError> {
        let (Some(platform), ParcelItem::Reply(reply)) =
            (Platform::of_courier(&parcel.via), &parcel.item)
        else {
            return Err(undeliverable(
                &parcel.via,
                "this courier carries slash-command replies only",
            ));
        };
        if hipkit_store::now_millis() >= reply.expires_at {
            return Err(undeliverable(
                &parcel.via,
                format!(
                    "the response_url expired before the reply could be posted ({} takes \
                     replies there for {} minutes after the command)",
                    platform.name(),
                    RESPONSE_URL_VALID.as_secs() / 60
                ),
            ));
        }
        let request = PushRequest {
            url: reply.url.clone(),
            headers: vec![Header::plain("Content-Type", "application/json")],
            body: reply.body.to_string(),
        };
        self.client.send(&request).await?;
        tracing::info!(platform = platform.name(), "late reply posted");
        Ok(Delivery::delivered())
    }

    fn carries(&self, via: &str) -> bool {
        Platform::of_courier(via).is_some()
    }

    fn named(&self) -> Vec<(String, String)> {
        [Platform::Slack, Platform::Mattermost]
            .into_iter()
            .map(|p| {
                let by = format!("[integrations] slash-command replies to {}", p.name());
                (p.courier().to_owned(), by)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(url: &str, expires_at: i64) -> Parcel {
        Parcel {
            via: Platform::Slack.courier().into(),
            item: ParcelItem::Reply(ReplyItem {
                url: url.into(),
                body: serde_json::json!({"text": "done"}),
                expires_at,
            }),
        }
    }

    #[tokio::test]
    async fn an_expired_reply_is_refused_without_a_post() {
        // A closed port: a post would be a network error (retried), not a refusal.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/commands/s3cret", closed.local_addr().unwrap());
        drop(closed);
        let couriers = ReplyCouriers::new().unwrap();
        let expired = hipkit_store::now_millis() - 1;
        let error = couriers.deliver(&reply(&url, expired)).await.unwrap_err();
        assert_eq!(error.retry(), hipkit_transport::Retry::Never, "{error}");
        let text = error.to_string();
        assert!(
            text.contains("expired") && text.contains("30 minutes"),
            "{text}"
        );
        let live = hipkit_store::now_millis() + 60_000;
        let error = couriers.deliver(&reply(&url, live)).await.unwrap_err();
        assert_eq!(error.retry(), hipkit_transport::Retry::Backoff, "{error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn couriers_are_named_per_platform_and_lanes_show_no_url() {
        let couriers = ReplyCouriers::new().unwrap();
        assert!(couriers.carries("slack:response_url"));
        assert!(couriers.carries("mattermost:response_url"));
        assert!(!couriers.carries("ops-slack"));
        assert_eq!(couriers.named().len(), 2);
        let url = "https://hooks.slack.com/commands/T0/B0/s3cret";
        assert_eq!(lane(url), lane(url));
        assert_ne!(
            lane(url),
            lane("https://hooks.slack.com/commands/T0/B0/other")
        );
        assert!(!lane(url).contains("s3cret"));
    }
}
