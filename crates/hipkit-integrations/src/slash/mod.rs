//! Slack and Mattermost slash commands run the folder's integrations unchanged (issue 23):
//! `POST /hooks/slack` (verified by Slack's request signing) and `POST /hooks/mattermost`
//! (verified by the command's token) turn the command into the HipChat `room_message` webhook
//! the scripts read ([`request`]), route it as a HipChat webhook (same integrations, tokens
//! and storage), and answer with the integration's reply ([`respond`]). A call still running
//! after [`ACK_WITHIN`] is acknowledged at once and its reply posted to `response_url` when
//! it finishes: through the outbox, or directly with retries in memory where there is none
//! ([`late`]).

pub mod channels;
pub mod late;
pub mod request;
pub mod respond;
pub mod verify;

use crate::service::Integrations;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipkit_server::{ApiError, TimedBody};
use request::SlashRequest;
use std::time::Duration;
use tokio::time::Instant;

/// How long a slash command may run before it is acknowledged and answered later (Slack
/// wants an answer within 3 s, network included).
pub const ACK_WITHIN: Duration = Duration::from_millis(2_000);

/// Where a slash command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Slack (`POST /hooks/slack`).
    Slack,
    /// Mattermost (`POST /hooks/mattermost`).
    Mattermost,
}

impl Platform {
    /// `slack` or `mattermost`.
    pub fn name(self) -> &'static str {
        self.translated().as_str()
    }

    /// The platform `hipkit-translate` writes replies for.
    pub fn translated(self) -> hipkit_translate::Platform {
        match self {
            Self::Slack => hipkit_translate::Platform::Slack,
            Self::Mattermost => hipkit_translate::Platform::Mattermost,
        }
    }
}

/// The HipChat room a channel maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRoom {
    /// The room's id (its per-room tokens apply).
    pub id: u64,
    /// The room's name.
    pub name: String,
}

/// Which HipChat room a platform's channel stands for (under `serve` with `[bridge]`, the
/// [`channels::ChannelMap`] of `[[bridge.rooms]] channels`). Unmapped channels are rooms of
/// their own.
pub trait ChannelRooms: Send + Sync {
    /// The room `channel_id` of `platform` maps to, if any.
    fn room(&self, platform: Platform, channel_id: &str) -> Option<MappedRoom>;
}

/// No mapping: every channel is a room of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unmapped;

impl ChannelRooms for Unmapped {
    fn room(&self, _: Platform, _: &str) -> Option<MappedRoom> {
        None
    }
}

/// `POST /hooks/slack`.
pub(crate) async fn slack(State(s): State<Integrations>, request: Request) -> Response {
    slash(s, Platform::Slack, request).await
}

/// `POST /hooks/mattermost`.
pub(crate) async fn mattermost(State(s): State<Integrations>, request: Request) -> Response {
    slash(s, Platform::Mattermost, request).await
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn slash(s: Integrations, platform: Platform, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match TimedBody::read(&parts, body).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let form = SlashRequest::parse(&body);
    let verified = match platform {
        Platform::Slack => s.slash_auth().slack(&parts.headers, &body, unix_now()),
        Platform::Mattermost => s
            .slash_auth()
            .mattermost(&parts.headers, form.token.as_deref()),
    };
    if let Err(why) = verified {
        tracing::warn!(platform = platform.name(), "slash command refused: {why}");
        return ApiError::new(StatusCode::UNAUTHORIZED, why.to_string()).into_response();
    }
    if form.ssl_check {
        return StatusCode::OK.into_response();
    }
    if let Err(e) = form.check() {
        return ApiError::new(StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    let room = s.channel_rooms().room(platform, &form.channel_id);
    let hook = match form.webhook(platform, room) {
        Ok(hook) => hook,
        Err(e) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot build the call: {e}"),
            )
            .into_response();
        }
    };
    let line = form.line();
    let ephemeral = s.is_ephemeral(&line);
    let received_at = hipkit_store::now_millis();
    // The call's own limit applies, not the request's: it may finish after the answer.
    let deadline = Instant::now() + s.config().timeout() + Duration::from_secs(1);
    let runner = s.clone();
    let mut call = tokio::spawn(async move { runner.run(hook, deadline).await });
    let outcome = match tokio::time::timeout(ACK_WITHIN, &mut call).await {
        Ok(joined) => joined,
        Err(_) => {
            let Some(url) = form.response_url.clone() else {
                // Nowhere to answer later: wait for the call (up to its own limit).
                let joined = call.await;
                return answer(&s, platform, joined, ephemeral, None, received_at);
            };
            let late = s.late_replies().clone();
            let which = respond::first_word(&line).to_owned();
            tokio::spawn(async move {
                let outcome = joined_outcome(call.await);
                let mut parts = respond::bodies(platform, &outcome, ephemeral);
                if parts.is_empty() {
                    parts.push(serde_json::json!({"response_type": "ephemeral", "text": format!("{which} finished with no reply.")}));
                }
                late.queue(platform, &url, parts, received_at, &which).await;
            });
            return Json(respond::acknowledgement(&line)).into_response();
        }
    };
    answer(
        &s,
        platform,
        outcome,
        ephemeral,
        form.response_url,
        received_at,
    )
}

type Joined = Result<Result<crate::reply::Reply, crate::reply::Reply>, tokio::task::JoinError>;

/// A call task's outcome; a task that panicked is a failure that says no more.
fn joined_outcome(joined: Joined) -> Result<crate::reply::Reply, crate::reply::Reply> {
    joined.unwrap_or_else(|e| {
        tracing::error!("slash-command call ended abnormally: {e}");
        Err(crate::reply::Reply::error(
            "the integration failed (see hipkit's log)",
        ))
    })
}

/// The immediate answer: the response's first part (a long reply's others follow at
/// `response_url`, through the outbox or directly), or an empty 200 for an empty reply.
fn answer(
    s: &Integrations,
    platform: Platform,
    joined: Joined,
    ephemeral: bool,
    response_url: Option<String>,
    received_at: i64,
) -> Response {
    let mut parts = respond::bodies(platform, &joined_outcome(joined), ephemeral).into_iter();
    let Some(first) = parts.next() else {
        return StatusCode::OK.into_response();
    };
    let rest: Vec<_> = parts.collect();
    if !rest.is_empty() {
        if let Some(url) = response_url {
            let late = s.late_replies().clone();
            tokio::spawn(async move {
                late.queue(platform, &url, rest, received_at, "rest").await;
            });
        } else {
            tracing::warn!(
                platform = platform.name(),
                parts = rest.len(),
                "a long reply's later parts are not posted: no response_url"
            );
        }
    }
    Json(first).into_response()
}
