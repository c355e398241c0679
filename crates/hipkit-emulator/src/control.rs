//! `/_emulator/`: fault injection, the request log, counts (`stats`), extra tokens, reset,
//! shared files, and waiting for a message ([`crate::wait`]). Everything but file downloads and waiting needs
//! a token with the `admin_group` scope.

use crate::auth::{Caller, query_pairs};
use crate::extract::{HipChatJson, JsonBody};
use crate::faults::FaultRule;
use crate::state::{LoggedRequest, Shared, Stats};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hipchat::Scope;
use hipkit_server::ApiError;
use serde::Deserialize;

/// What every control route but downloads requires.
const ADMIN: &[Scope] = &[Scope::AdminGroup];

/// The control routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/requests", get(requests))
        .route("/stats", get(stats))
        .route("/tokens", post(add_token))
        .route("/reset", post(reset))
        .route("/files/{id}/{name}", get(crate::download::download))
        .route("/rooms/{room}/messages", get(crate::wait::messages))
}

impl JsonBody for FaultRule {
    const SCOPES: &'static [Scope] = ADMIN;

    /// A rule that cannot do what it says is refused by name.
    fn check(&self) -> Result<(), ApiError> {
        FaultRule::check(self).map_err(|e| ApiError::bad_request(e.to_string()))
    }
}

/// `POST /_emulator/tokens` body.
#[derive(Deserialize)]
struct NewToken {
    token: String,
    label: String,
    #[serde(default)]
    scopes: Option<Vec<Scope>>,
}

impl JsonBody for NewToken {
    const SCOPES: &'static [Scope] = ADMIN;

    fn check(&self) -> Result<(), ApiError> {
        if self.token.is_empty() || self.label.is_empty() {
            return Err(ApiError::bad_request("token and label must not be empty"));
        }
        Ok(())
    }
}

async fn list_faults(State(s): State<Shared>, c: Caller) -> Result<Json<Vec<FaultRule>>, ApiError> {
    c.require(ADMIN)?;
    Ok(Json(s.world().faults().to_vec()))
}

async fn add_fault(
    State(s): State<Shared>,
    HipChatJson { body: rule, .. }: HipChatJson<FaultRule>,
) -> Response {
    let rule = s.world().add_fault(rule);
    (StatusCode::CREATED, Json(rule)).into_response()
}

async fn clear_faults(State(s): State<Shared>, c: Caller) -> Result<StatusCode, ApiError> {
    c.require(ADMIN)?;
    s.world().clear_faults();
    Ok(StatusCode::NO_CONTENT)
}

async fn requests(
    State(s): State<Shared>,
    c: Caller,
    uri: Uri,
) -> Result<Json<Vec<LoggedRequest>>, ApiError> {
    c.require(ADMIN)?;
    let query = query_pairs(uri.query());
    let since = query
        .iter()
        .find(|(k, _)| k == "since_ms")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .unwrap_or(0);
    let world = s.world();
    Ok(Json(
        world
            .requests()
            .filter(|r| r.at_ms >= since)
            .cloned()
            .collect(),
    ))
}

async fn stats(State(s): State<Shared>, c: Caller) -> Result<Json<Stats>, ApiError> {
    c.require(ADMIN)?;
    Ok(Json(s.world().stats()))
}

async fn add_token(
    State(s): State<Shared>,
    HipChatJson { body: req, .. }: HipChatJson<NewToken>,
) -> StatusCode {
    let scopes = req.scopes.unwrap_or_else(|| Scope::ALL.to_vec());
    s.world().add_token(&req.token, &req.label, &scopes);
    StatusCode::CREATED
}

async fn reset(State(s): State<Shared>, c: Caller) -> Result<StatusCode, ApiError> {
    c.require(ADMIN)?;
    s.world().reset();
    Ok(StatusCode::NO_CONTENT)
}
