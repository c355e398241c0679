//! `/_emulator/`: fault injection, the request log, extra tokens, reset, and shared files.
//! Everything but file downloads needs a token with the `admin_group` scope.

use crate::auth::{query_pairs, raw_token};
use crate::error::EmuError;
use crate::extract::{RawBody, parse_json};
use crate::faults::FaultRule;
use crate::state::{LoggedRequest, Shared};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hipchat::Scope;
use serde::Deserialize;

/// The control routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/requests", get(requests))
        .route("/tokens", post(add_token))
        .route("/reset", post(reset))
        .route("/files/{id}/{name}", get(download))
}

fn admin(s: &Shared, headers: &HeaderMap, uri: &Uri) -> Result<(), EmuError> {
    let token = raw_token(headers, &query_pairs(uri.query())).ok_or_else(EmuError::no_token)?;
    let world = s.world();
    let rec = world.tokens.get(&token).ok_or_else(EmuError::bad_token)?;
    if !rec.scopes.contains(&Scope::AdminGroup) {
        return Err(EmuError::new(
            StatusCode::FORBIDDEN,
            "This action requires one of the following scopes: [u'admin_group']",
        ));
    }
    Ok(())
}

async fn list_faults(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Vec<FaultRule>>, EmuError> {
    admin(&s, &headers, &uri)?;
    Ok(Json(s.world().faults.clone()))
}

async fn add_fault(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    RawBody(body): RawBody,
) -> Result<Response, EmuError> {
    admin(&s, &headers, &uri)?;
    let mut rule: FaultRule = parse_json(&headers, &body)?;
    let mut world = s.world();
    rule.id = world.faults.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    world.faults.push(rule.clone());
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

async fn clear_faults(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<StatusCode, EmuError> {
    admin(&s, &headers, &uri)?;
    s.world().faults.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn requests(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Vec<LoggedRequest>>, EmuError> {
    admin(&s, &headers, &uri)?;
    let query = query_pairs(uri.query());
    let since = query
        .iter()
        .find(|(k, _)| k == "since_ms")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .unwrap_or(0);
    let world = s.world();
    Ok(Json(
        world
            .requests
            .iter()
            .filter(|r| r.at_ms >= since)
            .cloned()
            .collect(),
    ))
}

#[derive(Deserialize)]
struct NewToken {
    token: String,
    label: String,
    #[serde(default)]
    scopes: Option<Vec<Scope>>,
}

async fn add_token(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    RawBody(body): RawBody,
) -> Result<StatusCode, EmuError> {
    admin(&s, &headers, &uri)?;
    let req: NewToken = parse_json(&headers, &body)?;
    if req.token.is_empty() || req.label.is_empty() {
        return Err(EmuError::bad_request("token and label must not be empty"));
    }
    let scopes = req.scopes.unwrap_or_else(|| Scope::ALL.to_vec());
    s.world().add_token(&req.token, &req.label, &scopes);
    Ok(StatusCode::CREATED)
}

async fn reset(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<StatusCode, EmuError> {
    admin(&s, &headers, &uri)?;
    s.world().clear_messages();
    Ok(StatusCode::NO_CONTENT)
}

async fn download(
    State(s): State<Shared>,
    Path((id, _name)): Path<(String, String)>,
) -> Result<Response, EmuError> {
    let world = s.world();
    let file = world
        .files
        .get(&id)
        .ok_or_else(|| EmuError::not_found("File not found"))?;
    Ok((
        [(header::CONTENT_TYPE, file.content_type.clone())],
        file.data.clone(),
    )
        .into_response())
}
