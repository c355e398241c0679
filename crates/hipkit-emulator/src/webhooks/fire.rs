//! The background task that calls webhooks: at most `concurrency` calls at once and at most
//! `per_receiver` to one receiver (so one hung receiver cannot hold every slot), each with
//! a timeout; a JSON reply is posted into the room as a notification, and every call's
//! outcome goes to the request log and the event stream.

use super::{FiringJob, Queued};
use crate::api::notification_item;
use crate::config::EmulatorConfig;
use crate::events::{EmulatorEvent, FiringOutcome, RoomInfo};
use crate::state::{LoggedRequest, Shared};
use hipchat::jwt::{JwtSecret, WebhookClaims};
use hipchat::{RoomNotification, Validate};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedReceiver;

/// Largest reply body read from a webhook (a notification is at most 10,000 characters
/// plus a card; anything larger is not a notification).
const MAX_REPLY_BYTES: usize = 256 * 1024;

/// How webhooks are called.
#[derive(Clone)]
pub struct FiringSettings {
    /// Longest a call may take, connection to the end of the reply.
    pub timeout: Duration,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls in flight at once to one receiver (scheme, host and port).
    pub per_receiver: usize,
    /// The key for `authentication: jwt` webhooks; `None` fails those calls with a reason.
    pub secret: Option<JwtSecret>,
    /// The JWT `iss` and the payload's `oauth_client_id` on signed calls.
    pub issuer: String,
}

impl FiringSettings {
    /// The settings in the emulator's config.
    pub fn from_config(config: &EmulatorConfig) -> Self {
        Self {
            timeout: Duration::from_secs(config.webhook_timeout_secs),
            concurrency: config.webhook_concurrency.max(1),
            per_receiver: config.webhook_per_receiver.max(1),
            secret: config.webhook_secret.clone(),
            issuer: config.webhook_issuer.clone(),
        }
    }
}

/// The slots of each receiver with calls waiting or in flight, by [`receiver_key`].
#[derive(Default)]
struct Receivers(Mutex<HashMap<String, Arc<Semaphore>>>);

impl Receivers {
    fn slots(&self, key: &str, per_receiver: usize) -> Arc<Semaphore> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(per_receiver)))
            .clone()
    }

    /// Forgets a receiver once no call holds its slots (the map holds the last reference).
    fn release(&self, key: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|s| Arc::strong_count(s) == 1) {
            map.remove(key);
        }
    }
}

/// Calls the webhook of every job until the queue closes. Each call first waits for a slot
/// of its receiver, then for one of the shared slots, so calls to a hung receiver wait
/// without holding shared slots; how many wait is bounded by the queue's permits.
pub async fn run(
    shared: Shared,
    client: reqwest::Client,
    mut jobs: UnboundedReceiver<Queued>,
    settings: FiringSettings,
) {
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let receivers = Arc::new(Receivers::default());
    let settings = Arc::new(settings);
    while let Some(Queued { job, permit }) = jobs.recv().await {
        let (shared, client, settings) = (shared.clone(), client.clone(), settings.clone());
        let (slots, receivers) = (slots.clone(), receivers.clone());
        tokio::spawn(async move {
            let key = receiver_key(&job.webhook.url);
            let own = receivers.slots(&key, settings.per_receiver);
            if let (Ok(_own), Ok(_slot)) = (own.acquire().await, slots.acquire().await) {
                fire(&shared, &client, &settings, job).await;
            }
            drop(own);
            receivers.release(&key);
            drop(permit);
        });
    }
}

/// Who receives a call: the URL's scheme, host and port (the whole URL if it does not parse).
fn receiver_key(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(url) => format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => raw.to_owned(),
    }
}

/// What a call came to, before it is recorded.
struct Called {
    status: Option<u16>,
    outcome: FiringOutcome,
    reply: Option<RoomNotification>,
}

async fn fire(
    shared: &Shared,
    client: &reqwest::Client,
    settings: &FiringSettings,
    job: FiringJob,
) {
    let started = Instant::now();
    let called = match call(shared, client, settings, &job).await {
        Ok(called) => called,
        Err(reason) => Called {
            status: None,
            outcome: FiringOutcome::Failed { reason },
            reply: None,
        },
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut world = shared.world();
    let mut outcome = called.outcome;
    if let Some(reply) = called.reply {
        let label = job
            .webhook
            .name
            .clone()
            .unwrap_or_else(|| "Integration".into());
        let mut item = notification_item(reply);
        if matches!(&item.from, hipchat::HistoryFrom::Label(l) if l.is_empty()) {
            item.from = hipchat::HistoryFrom::Label(label);
        }
        if let Err(e) = world.post_reply(job.room_id, item) {
            outcome = FiringOutcome::Rejected {
                reason: format!("reply could not be posted: {}", e.message()),
            };
        }
    }
    tracing::info!(
        webhook = job.webhook.id,
        room = job.room_id,
        status = called.status,
        latency_ms,
        outcome = ?outcome,
        "webhook fired"
    );
    world.record_firing(
        LoggedRequest {
            at_ms: chrono::Utc::now()
                .timestamp_millis()
                .try_into()
                .unwrap_or(0),
            method: "POST".into(),
            path: loggable_url(&job.webhook.url),
            token: job.webhook.name.clone(),
            status: called.status.unwrap_or(0),
            outgoing: true,
        },
        EmulatorEvent::WebhookFired {
            room: RoomInfo {
                id: job.room_id,
                name: job.room_name,
            },
            webhook_id: job.webhook.id,
            name: job.webhook.name,
            url: loggable_url(&job.webhook.url),
            event: job.payload.event,
            message_id: job.payload.item.message.id,
            status: called.status,
            latency_ms,
            outcome,
        },
    );
}

/// Makes the call; `Err` is why no answer came (timeout, refused connection, no JWT key).
async fn call(
    shared: &Shared,
    client: &reqwest::Client,
    settings: &FiringSettings,
    job: &FiringJob,
) -> Result<Called, String> {
    let mut payload = job.payload.clone();
    payload.item.room.links = shared.room_links(job.room_id);
    let mut request = client.post(&job.webhook.url).timeout(settings.timeout);
    if job.jwt {
        let secret = settings.secret.as_ref().ok_or(
            "the webhook asks for JWT authentication but the emulator has no webhook secret \
             (set `webhook_secret` in [emulator] or --webhook-secret)",
        )?;
        payload.oauth_client_id = Some(settings.issuer.clone());
        let claims = WebhookClaims::for_call(&settings.issuer, job.user_id, job.room_id);
        let token = hipchat::jwt::sign(secret, &claims).map_err(|e| e.to_string())?;
        request = request.header(reqwest::header::AUTHORIZATION, format!("JWT {token}"));
    }
    let mut response = request
        .json(&payload)
        .send()
        .await
        .map_err(|e| describe(e, settings.timeout))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| describe(e, settings.timeout))?
    {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Ok(rejected(
                status,
                format!("reply is larger than {MAX_REPLY_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        return Ok(rejected(status, format!("answered {status}")));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Called {
            status: Some(status.as_u16()),
            outcome: FiringOutcome::NoReply,
            reply: None,
        });
    }
    let reply = serde_json::from_slice::<RoomNotification>(&body)
        .map_err(|e| e.to_string())
        .and_then(|n| n.validate().map(|()| n).map_err(|e| e.to_string()));
    Ok(match reply {
        Ok(reply) => Called {
            status: Some(status.as_u16()),
            outcome: FiringOutcome::Replied,
            reply: Some(reply),
        },
        Err(why) => rejected(status, format!("reply is not a room notification: {why}")),
    })
}

fn rejected(status: reqwest::StatusCode, reason: String) -> Called {
    Called {
        status: Some(status.as_u16()),
        outcome: FiringOutcome::Rejected { reason },
        reply: None,
    }
}

/// Words for a failed call, without the URL (its query may hold a secret).
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no complete answer within {} s", timeout.as_secs())
    } else if e.is_connect() {
        "connection failed (nothing listening, or refused)".into()
    } else {
        hipchat::error_chain(&e.without_url())
    }
}

/// The URL without credentials, query or fragment, for logs and events.
fn loggable_url(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_urls_lose_credentials_and_query() {
        assert_eq!(
            loggable_url("https://u:p@example.test/hook?token=s3cret#x"),
            "https://example.test/hook"
        );
    }
}
