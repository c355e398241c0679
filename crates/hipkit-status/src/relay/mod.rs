//! `POST /hooks/buildbot`: what Buildbot's HttpStatusPush sends (`complete: false` →
//! started, `true` → finished) runs the configured reporters. The answer comes once every
//! report (HipChat messages and HTTP pushes alike) is durably queued in the outbox (or, with
//! another delivery backend, accepted by it). Every request is logged in one info line:
//! builder, build number, event and how many reports were queued, or why it was refused
//! (never a secret or a header).

mod auth;

pub use auth::RelayAuth;

use crate::report::Reporters;
use crate::{Build, ReportError};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hipkit_server::{ApiError, RequestDeadline, Routes, TimedBody};
use hipkit_transport::SendOptions;
use serde::Serialize;
use std::sync::Arc;

/// The relay's path.
pub const PATH: &str = "/hooks/buildbot";

/// The relay: the reporters it runs and who may call it.
#[derive(Debug, Clone)]
pub struct Relay {
    reporters: Reporters,
    auth: RelayAuth,
}

/// One queued report in the answer.
#[derive(Debug, Serialize)]
struct Queued {
    reporter: String,
    to: String,
    id: String,
    state: hipkit_transport::DeliveryState,
}

/// The answer to a build: what was queued, and which reporters failed to render.
#[derive(Debug, Serialize)]
struct Answer {
    event: &'static str,
    queued: Vec<Queued>,
    errors: Vec<String>,
}

impl Relay {
    /// A relay running `reporters`, admitting requests `auth` accepts.
    pub fn new(reporters: Reporters, auth: RelayAuth) -> Self {
        Self { reporters, auth }
    }

    /// The `POST /hooks/buildbot` router.
    pub fn router(self) -> Router {
        Router::new()
            .route(PATH, post(accept))
            .with_state(Arc::new(self))
    }

    /// The routes to mount: public (the relay checks its own secret), answering by the
    /// request's deadline itself, so an answer never says "timed out" for a queued report.
    pub fn routes(self) -> Routes {
        Routes::public(self.router()).timed_by_handler()
    }
}

/// The longest `Idempotency-Key` taken.
const MAX_KEY: usize = 200;

/// What makes a resent build the same: the `Idempotency-Key` header, or the build's id, event
/// and content (Buildbot sends each build's `new` and `finished` once and a resend is a retry
/// of the same JSON; the same id with other content is another build, e.g. from a second
/// master, whose ids count from 1 too). `None`: no header and no `buildid`.
fn idempotency_base(
    headers: &HeaderMap,
    build: &Build,
    body: &[u8],
    event: crate::Event,
) -> Result<Option<String>, ApiError> {
    if let Some(key) = hipkit_server::idempotency_key(headers, MAX_KEY)? {
        return Ok(Some(format!("key:{key}")));
    }
    Ok(build
        .dict()
        .get("buildid")
        .and_then(serde_json::Value::as_i64)
        .map(|id| format!("build:{id}:{}:{}", event.as_str(), fingerprint(&[body]))))
}

/// The first 128 bits of the SHA-256 of `parts` (each length-prefixed), in hex: a stable
/// name for content that shows none of it.
fn fingerprint(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Queues one report once per key (each report of a build gets its own key, which names the
/// reporter but not the destination: an HTTP push's URL may carry a secret, and the key is
/// stored); a transport without idempotency (not the outbox) takes it without one. Its lane
/// is [`Outgoing::lane`](crate::report::Outgoing::lane): the reports of one reporter to one
/// destination are delivered in the order Buildbot sent them.
async fn send_once(
    report: &crate::report::Outgoing,
    key: Option<&str>,
    deadline: tokio::time::Instant,
) -> Result<hipkit_transport::Delivery, hipkit_transport::TransportError> {
    let destination = report.destination();
    let mut options = SendOptions {
        deadline: Some(deadline),
        idempotency_key: key.map(|k| {
            format!(
                "buildbot-relay/{k}/{}/{}",
                report.reporter,
                fingerprint(&[destination.as_bytes()])
            )
        }),
        lane: Some(report.lane()),
    };
    match report.send(&options).await {
        Err(hipkit_transport::TransportError::IdempotencyUnsupported) => {
            options.idempotency_key = None;
            report.send(&options).await
        }
        other => other,
    }
}

/// A refused request: its one info line (the status and why; never a header), then the
/// envelope.
fn refuse(error: ApiError) -> Response {
    tracing::info!(
        status = error.status().as_u16(),
        "relay: refused: {}",
        error.message()
    );
    error.into_response()
}

/// Buildbot's HttpStatusPush reads only the status code; the body is for people.
async fn accept(
    State(relay): State<Arc<Relay>>,
    RequestDeadline(deadline): RequestDeadline,
    headers: HeaderMap,
    TimedBody(body): TimedBody,
) -> Response {
    if let Err(refusal) = hipkit_server::check_webhook(&headers) {
        return refuse(refusal);
    }
    if let Some(why) = relay.auth.refuse(&headers) {
        return refuse(ApiError::new(StatusCode::UNAUTHORIZED, why));
    }
    let build = match Build::from_json(&body) {
        Ok(build) => build,
        Err(e) => return refuse(ApiError::bad_request(e.to_string())),
    };
    let number = build
        .number()
        .map_or_else(|| "?".to_owned(), |n| n.to_string());
    let event = build.event();
    let prepared = relay.reporters.prepare(&build, event).await;
    let errors: Vec<String> = prepared
        .failures
        .iter()
        .map(ReportError::to_string)
        .collect();
    for e in &errors {
        tracing::warn!(builder = build.builder_name(), %event, "build report failed: {e}");
    }
    // Every report is checked before any is queued: a bad one refuses the build whole.
    for report in &prepared.outgoing {
        if let Err(e) = report.validate() {
            let message = format!(
                "report of {} to {} is invalid: {e} (nothing queued)",
                report.reporter,
                report.destination()
            );
            return refuse(ApiError::bad_request(message));
        }
    }
    let key = match idempotency_base(&headers, &build, &body, event) {
        Ok(key) => key,
        Err(refusal) => return refuse(refusal),
    };
    // All at once, so the outbox commits a build's reports together.
    let sends = prepared
        .outgoing
        .iter()
        .map(|report| send_once(report, key.as_deref(), deadline));
    let results = futures_util::future::join_all(sends).await;
    let total = results.len();
    let mut queued = Vec::with_capacity(total);
    let mut refused = None;
    let mut reused_key = false;
    for (report, result) in prepared.outgoing.iter().zip(results) {
        reused_key |= matches!(
            result,
            Err(hipkit_transport::TransportError::IdempotencyConflict { .. })
        );
        match result {
            Ok(delivery) => queued.push(Queued {
                reporter: report.reporter.clone(),
                to: report.destination(),
                id: delivery.id,
                state: delivery.state,
            }),
            Err(e) => {
                refused.get_or_insert_with(|| {
                    format!(
                        "report of {} to {} not queued: {e}",
                        report.reporter,
                        report.destination()
                    )
                });
            }
        }
    }
    if let Some(message) = refused {
        let message = format!("{message} ({} of {total} reports queued)", queued.len());
        // A key reused for another build is the sender's mistake, and retrying cannot help.
        let refusal = if reused_key {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the Idempotency-Key was already used for a different build: {message}"),
            )
        } else {
            ApiError::unavailable(message)
        };
        tracing::info!(
            builder = build.builder_name(),
            build = %number,
            %event,
            status = refusal.status().as_u16(),
            "relay: refused: {}",
            refusal.message()
        );
        return refusal.into_response();
    }
    tracing::info!(
        builder = build.builder_name(),
        build = %number,
        %event,
        queued = queued.len(),
        failed = errors.len(),
        status = 202,
        "relay: build reports queued"
    );
    let answer = Answer {
        event: event.as_str(),
        queued,
        errors,
    };
    (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}
