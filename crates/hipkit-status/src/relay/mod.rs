//! `POST /hooks/buildbot`: what Buildbot's HttpStatusPush sends (`complete: false` →
//! started, `true` → finished) runs the configured reporters. The answer comes once every
//! report (HipChat messages and HTTP pushes alike) is durably queued in the outbox (or, with
//! another delivery backend, accepted by it).

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

/// Buildbot's HttpStatusPush reads only the status code; the body is for people.
async fn accept(
    State(relay): State<Arc<Relay>>,
    RequestDeadline(deadline): RequestDeadline,
    headers: HeaderMap,
    TimedBody(body): TimedBody,
) -> Response {
    if let Err(refusal) = hipkit_server::check_webhook(&headers) {
        return refusal.into_response();
    }
    if let Some(why) = relay.auth.refuse(&headers) {
        return ApiError::new(StatusCode::UNAUTHORIZED, why).into_response();
    }
    let build = match Build::from_json(&body) {
        Ok(build) => build,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
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
    let options = SendOptions {
        deadline: Some(deadline),
        idempotency_key: None,
    };
    // All at once, so the outbox commits a build's reports together.
    let sends = prepared.outgoing.iter().map(|report| report.send(&options));
    let results = futures_util::future::join_all(sends).await;
    let total = results.len();
    let mut queued = Vec::with_capacity(total);
    let mut refused = None;
    for (report, result) in prepared.outgoing.iter().zip(results) {
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
        return ApiError::unavailable(message).into_response();
    }
    let answer = Answer {
        event: event.as_str(),
        queued,
        errors,
    };
    (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}
