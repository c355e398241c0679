//! The gate in front of every `/v2` route but `/capabilities`: faults, authentication, the
//! token's rate limit, `X-Ratelimit-*` headers and the request log.

use crate::auth::{identify, query_pairs, raw_token};
use crate::faults::{FaultAction, is_bodyless};
use crate::state::{LoggedRequest, Shared};
use axum::Json;
use axum::extract::{OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hipkit_server::ApiError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The rate-limit key of requests without a valid token.
pub(crate) const ANONYMOUS: &str = "anonymous";

/// Unix time in milliseconds (the request log's clock).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The answer a `status` fault gives, forcing a rate-limit reset for `limit_key` if asked.
fn injected(
    s: &Shared,
    limit_key: &str,
    at_ms: u64,
    status: u16,
    message: Option<String>,
    reset_in: Option<u64>,
) -> Response {
    // Rules are checked when posted: the status is always 200–599.
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(secs) = reset_in {
        // `reset_in` may be anything up to u64::MAX ("forever"): saturate, never wrap.
        let until = (at_ms / 1000).saturating_add(secs.max(1));
        s.limiter.force_reset(limit_key, until);
    }
    if is_bodyless(status.as_u16()) {
        // No body, so no Content-Length or Content-Type either (hyper drops the length).
        return status.into_response();
    }
    let message = message.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("Injected fault")
            .to_owned()
    });
    ApiError::new(status, message).into_response()
}

/// Applies a request's fault rule before its handler: waits out a `delay`, answers a
/// `status` (returned), or, for a `drop`, records `dropped()` and closes the connection
/// unanswered (never returning).
pub(crate) async fn apply_fault(
    s: &Shared,
    fault: Option<FaultAction>,
    limit_key: &str,
    at_ms: u64,
    close: Option<hipkit_server::CloseConnection>,
    dropped: impl FnOnce() -> LoggedRequest,
) -> Option<Response> {
    match fault? {
        FaultAction::Drop => {
            s.world().log_request(dropped());
            if let Some(connection) = close {
                connection.close();
            }
            std::future::pending().await
        }
        FaultAction::Delay { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            None
        }
        FaultAction::Status {
            status,
            message,
            reset_in,
        } => Some(injected(s, limit_key, at_ms, status, message, reset_in)),
    }
}

/// Authenticates, applies faults and the token's rate limit, runs the handler, adds the
/// `X-Ratelimit-*` headers and records the request.
pub async fn gate(State(s): State<Shared>, mut req: Request, next: Next) -> Response {
    let at_ms = now_ms();
    let method = req.method().as_str().to_owned();
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let query = query_pairs(req.uri().query());
    let token = raw_token(req.headers(), &query);
    let (who, fault) = {
        let mut world = s.world();
        let who = identify(&world, token.as_deref());
        (who, world.take_fault(&method, &path))
    };
    let label = who.as_ref().ok().map(|c| c.label.clone());
    let log = |status: u16| LoggedRequest {
        at_ms,
        method: method.clone(),
        path: path.clone(),
        token: label.clone(),
        status,
        outgoing: false,
    };
    let limit_key = label.clone().unwrap_or_else(|| ANONYMOUS.into());
    let close = req
        .extensions()
        .get::<hipkit_server::CloseConnection>()
        .cloned();
    let early = apply_fault(&s, fault, &limit_key, at_ms, close, || log(0)).await;
    let counted = s.limiter.count_token(&limit_key);
    let mut response = match (early, who) {
        (Some(resp), _) => resp,
        (None, Err(unauthenticated)) => unauthenticated.into_response(),
        (None, Ok(_)) if counted.exceeded => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "You have exceeded the rate limit. Please wait before making further requests.",
        )
        .into_response(),
        (None, Ok(caller)) => {
            let auth_test = hipkit_server::hipchat_api::is_auth_test(&query);
            req.extensions_mut().insert(crate::auth::Caller {
                auth_test,
                ..caller
            });
            next.run(req).await
        }
    };
    counted.write_headers("ratelimit", response.headers_mut());
    if is_bodyless(response.status().as_u16()) {
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_TYPE);
    }
    s.world().log_request(log(response.status().as_u16()));
    response
}

/// `GET /v2/capabilities`: HipChat's descriptor, without a token.
pub async fn capabilities(State(s): State<Shared>) -> Response {
    let body = serde_json::json!({
        "name": "HipChat (hipkit emulator)",
        "description": "A local HipChat API v2 emulator",
        "key": "hipchat",
        "vendor": {"name": "hipkit", "url": s.base.as_ref()},
        "links": {"self": s.url("capabilities"), "api": s.url(""), "homepage": s.base.as_ref()},
        "capabilities": {
            "hipchatApiProvider": {"url": s.url(""), "availableScopes": hipchat::Scope::ALL},
            "oauth2Provider": {
                "authorizationUrl": format!("{}/users/authorize", s.base),
                "tokenUrl": s.url("oauth/token"),
            },
        },
    });
    let mut resp = Json(body).into_response();
    // No token here: counted like every unauthenticated request, by the same limiter.
    s.limiter
        .count_token(ANONYMOUS)
        .write_headers("ratelimit", resp.headers_mut());
    resp
}
