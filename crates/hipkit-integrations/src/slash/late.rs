//! Replies posted to a slash command's `response_url` (a call that ran past [`super::ACK_WITHIN`],
//! the later parts of a long reply). [`LateReplies`] sends them one of two ways:
//!
//! - through the outbox (`hipkit serve` with the outbox backend): one record per part in one
//!   ordered lane per `response_url`, posted by [`ReplyCouriers`] with the outbox's retries and
//!   backoff, so a restart does not lose them. A refusal or an expired URL dead-letters the
//!   record with the reason.
//! - directly (standalone `hipkit integrations`, `serve` with another `[delivery] backend`):
//!   the parts are posted in order by one task per `response_url`, each retried in memory
//!   ([`DIRECT_RETRIES`]: a few tries within seconds), so they are lost if the process stops.
//!
//! Both post a part with [`post_part`], which says whether it was delivered, is to be tried
//! again (5xx, 429, no answer) or was refused for good (any other 4xx, an expired URL).
//!
//! The `response_url` is a short-lived capability URL (its path is the secret). The outbox's
//! record keeps it, since it must be posted to after a restart, but never shows it: the
//! outbox's listing, logs, errors and `Debug` show its scheme and host only
//! ([`hipchat::redact_capability_url`]). Nothing else is stored: no token, no signing secret.

use super::Platform;
use async_trait::async_trait;
use hipkit_transport::outbox::{Outbox, RetryPolicy};
use hipkit_transport::push::{Header, PushClient, PushError, PushRequest, Verify};
use hipkit_transport::{Couriers, Delivery, Parcel, ParcelItem, ReplyItem, Retry, TransportError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

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

/// How a reply part is retried where there is no outbox: 5 tries, the waits between them
/// growing from 1 s to 8 s (with jitter: about 30 s at most, well within the URL's
/// [`RESPONSE_URL_VALID`]).
pub const DIRECT_RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    max_age: RESPONSE_URL_VALID,
    min_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(8),
};

/// At most this many replies are being posted directly (with their retries) at once; a reply
/// beyond them is lost, with an error in the log (without an outbox nothing holds it).
pub const DIRECT_IN_FLIGHT: usize = 256;

/// Sends late replies to their `response_url`: through `hipkit serve`'s outbox, or directly.
#[derive(Debug, Clone)]
pub struct LateReplies {
    way: Way,
}

#[derive(Debug, Clone)]
enum Way {
    /// Queued in the outbox, posted by its workers with [`ReplyCouriers`].
    Outbox(Outbox),
    /// Posted at once by this client, retried in memory, by at most the semaphore's permits
    /// at a time.
    Direct(PushClient, Arc<Semaphore>),
}

impl LateReplies {
    /// Late replies queued in `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self {
            way: Way::Outbox(outbox),
        }
    }

    /// Late replies posted directly, retried in memory ([`DIRECT_RETRIES`]); a client
    /// verifying TLS with the system's roots.
    pub fn direct() -> Result<Self, PushError> {
        Self::direct_at_most(DIRECT_IN_FLIGHT)
    }

    /// [`LateReplies::direct`], with at most `in_flight` replies being posted at once.
    fn direct_at_most(in_flight: usize) -> Result<Self, PushError> {
        let permits = Arc::new(Semaphore::new(in_flight));
        Ok(Self {
            way: Way::Direct(reply_client()?, permits),
        })
    }

    /// Whether they go through the outbox (else directly).
    pub fn through_outbox(&self) -> bool {
        matches!(self.way, Way::Outbox(_))
    }

    /// Sends `parts` to `url` (a command of `platform` received at `received_at`, Unix
    /// milliseconds), in order: queued in one transaction, or posted one after the other
    /// (returning when the last is posted or the rest given up); logs what became of them
    /// (naming `call` and the URL's host, never its path).
    pub async fn queue(
        &self,
        platform: Platform,
        url: &str,
        parts: Vec<Value>,
        received_at: i64,
        call: &str,
    ) {
        let expires_at = received_at.saturating_add(RESPONSE_URL_VALID.as_millis() as i64);
        let items = parts.into_iter().map(|body| ReplyItem {
            url: url.to_owned(),
            body,
            expires_at,
        });
        match &self.way {
            Way::Outbox(outbox) => queue_in(outbox, platform, url, items, call).await,
            Way::Direct(client, permits) => match permits.try_acquire() {
                Ok(_posting) => post_directly(client, &DIRECT_RETRIES, platform, items, call).await,
                Err(_) => tracing::error!(
                    platform = platform.name(),
                    call,
                    "late reply lost: {DIRECT_IN_FLIGHT} late replies are already being posted \
                     (no outbox holds them)"
                ),
            },
        }
    }
}

/// Queues `items` for `url` in `outbox`'s ordered lane of `url`, in one transaction.
async fn queue_in(
    outbox: &Outbox,
    platform: Platform,
    url: &str,
    items: impl Iterator<Item = ReplyItem>,
    call: &str,
) {
    let lane = lane(url);
    let parcels: Vec<(Parcel, Option<String>)> = items
        .map(|item| {
            let parcel = Parcel {
                via: platform.courier().to_owned(),
                item: ParcelItem::Reply(item),
            };
            (parcel, Some(lane.clone()))
        })
        .collect();
    let platform = platform.name();
    match outbox.send_parcels(&parcels, None).await {
        Ok(queued) => {
            let parts = queued.len();
            tracing::info!(platform, call, parts, "late reply queued");
        }
        Err(e) => tracing::error!(platform, call, "late reply not queued, so lost: {e}"),
    }
}

/// Posts `items` (the parts of one reply, all to one `response_url`) in order, each until it
/// is delivered, refused, or `policy`'s tries are used up; a part that is not delivered ends
/// it (the parts after it would read out of order).
async fn post_directly(
    client: &PushClient,
    policy: &RetryPolicy,
    platform: Platform,
    items: impl Iterator<Item = ReplyItem>,
    call: &str,
) {
    for (index, item) in items.enumerate() {
        let part = index + 1;
        let to = hipchat::redact_capability_url(&item.url);
        let platform_name = platform.name();
        let mut attempt = 1;
        loop {
            let error = match post_part(client, platform, &item).await {
                Posted::Delivered => break,
                Posted::Refused(e) => {
                    tracing::error!(
                        platform = platform_name, call, part, %to,
                        "late reply refused, so it and any later parts are lost: {e}"
                    );
                    return;
                }
                Posted::Retry(e) => e,
            };
            let Some(wait) = policy.wait_after(&error, attempt) else {
                tracing::error!(
                    platform = platform_name, call, part, attempt, %to,
                    "late reply not posted after {attempt} tries, so it and any later parts \
                     are lost: {error}"
                );
                return;
            };
            tracing::warn!(
                platform = platform_name, call, part, attempt, %to,
                "late reply not posted, trying again in memory: {error}"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
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

/// The client replies are posted with: TLS verified with the system's roots.
fn reply_client() -> Result<PushClient, PushError> {
    PushClient::new(&Verify::Enabled(true), false)
}

/// What became of one post of a reply part ([`post_part`]).
#[derive(Debug)]
pub enum Posted {
    /// Taken (a 2xx answer).
    Delivered,
    /// Not taken for now (a 5xx, a 429, no answer): try again.
    Retry(TransportError),
    /// Refused for good (any other 4xx, or the URL expired): do not try again.
    Refused(TransportError),
}

/// Posts one reply part to its `response_url` once (unless the URL has expired) and says
/// what became of it: the one post both [`ReplyCouriers`] and the direct way make.
pub async fn post_part(client: &PushClient, platform: Platform, reply: &ReplyItem) -> Posted {
    if hipkit_store::now_millis() >= reply.expires_at {
        return Posted::Refused(undeliverable(
            platform.courier(),
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
    match client.send(&request).await {
        Ok(()) => {
            tracing::info!(platform = platform.name(), "late reply posted");
            Posted::Delivered
        }
        Err(e) => {
            let error = TransportError::from(e);
            match error.retry() {
                Retry::Never => Posted::Refused(error),
                Retry::At(_) | Retry::Backoff => Posted::Retry(error),
            }
        }
    }
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
            client: reply_client()?,
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
        // The outbox classifies the error again (TransportError::retry), as post_part did.
        match post_part(&self.client, platform, reply).await {
            Posted::Delivered => Ok(Delivery::delivered()),
            Posted::Retry(e) | Posted::Refused(e) => Err(e),
        }
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
    use std::sync::{Arc, Mutex};

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

    /// A `response_url` stand-in answering `plan` in turn (then 200); what it was sent, with
    /// the status it answered.
    async fn receiver(plan: Vec<u16>) -> (String, Arc<Mutex<Vec<(u16, Value)>>>) {
        use axum::extract::State;
        type Shared = (Arc<Mutex<Vec<u16>>>, Arc<Mutex<Vec<(u16, Value)>>>);
        async fn take(
            State((plan, seen)): State<Shared>,
            axum::Json(body): axum::Json<Value>,
        ) -> axum::http::StatusCode {
            let status = {
                let mut plan = plan.lock().unwrap();
                if plan.is_empty() { 200 } else { plan.remove(0) }
            };
            seen.lock().unwrap().push((status, body));
            axum::http::StatusCode::from_u16(status).unwrap()
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/commands/{*rest}", axum::routing::post(take))
            .with_state((Arc::new(Mutex::new(plan)), seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/commands/T0/s3cret",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    const FAST: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        max_age: RESPONSE_URL_VALID,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };

    fn items(url: &str, texts: &[&str]) -> Vec<ReplyItem> {
        let expires_at = hipkit_store::now_millis() + 60_000;
        texts
            .iter()
            .map(|t| ReplyItem {
                url: url.into(),
                body: serde_json::json!({ "text": t }),
                expires_at,
            })
            .collect()
    }

    #[tokio::test]
    async fn direct_posts_retry_a_5xx_keep_order_and_stop_at_a_refusal() {
        let client = reply_client().unwrap();
        let (url, seen) = receiver(vec![500, 200, 503]).await;
        let parts = items(&url, &["one", "two"]);
        post_directly(&client, &FAST, Platform::Slack, parts.into_iter(), "/t").await;
        let got: Vec<(u16, String)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(s, b)| (*s, b["text"].as_str().unwrap().to_owned()))
            .collect();
        let want = [(500, "one"), (200, "one"), (503, "two"), (200, "two")]
            .map(|(s, t)| (s, t.to_owned()));
        assert_eq!(got, want);

        let (url, seen) = receiver(vec![404]).await;
        let parts = items(&url, &["one", "two"]);
        post_directly(
            &client,
            &FAST,
            Platform::Mattermost,
            parts.into_iter(),
            "/t",
        )
        .await;
        assert_eq!(seen.lock().unwrap().len(), 1, "a refusal ends it");

        let (url, seen) = receiver(vec![500, 500, 500, 500]).await;
        let parts = items(&url, &["one", "two"]);
        post_directly(&client, &FAST, Platform::Slack, parts.into_iter(), "/t").await;
        assert_eq!(seen.lock().unwrap().len(), 3, "FAST's tries, then given up");
    }

    #[tokio::test]
    async fn direct_replies_beyond_the_bound_are_not_posted() {
        let (url, seen) = receiver(vec![200]).await;
        let none_free = LateReplies::direct_at_most(0).unwrap();
        let part = vec![serde_json::json!({"text": "late"})];
        none_free
            .queue(
                Platform::Slack,
                &url,
                part.clone(),
                hipkit_store::now_millis(),
                "/t",
            )
            .await;
        assert!(seen.lock().unwrap().is_empty(), "no permit, no post");
        let one_free = LateReplies::direct_at_most(1).unwrap();
        one_free
            .queue(
                Platform::Slack,
                &url,
                part,
                hipkit_store::now_millis(),
                "/t",
            )
            .await;
        assert_eq!(seen.lock().unwrap().len(), 1, "a free permit posts it");
    }

    #[tokio::test]
    async fn post_part_says_delivered_retry_or_refused() {
        let client = reply_client().unwrap();
        let (url, _seen) = receiver(vec![429, 410, 200]).await;
        let [part] = <[ReplyItem; 1]>::try_from(items(&url, &["x"])).unwrap();
        assert!(matches!(
            post_part(&client, Platform::Slack, &part).await,
            Posted::Retry(_)
        ));
        let Posted::Refused(e) = post_part(&client, Platform::Slack, &part).await else {
            panic!("a 410 is a refusal");
        };
        assert!(
            e.to_string().contains("410") && !e.to_string().contains("s3cret"),
            "{e}"
        );
        assert!(matches!(
            post_part(&client, Platform::Slack, &part).await,
            Posted::Delivered
        ));
    }
}
