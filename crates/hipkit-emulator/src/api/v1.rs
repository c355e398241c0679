//! HipChat's API v1 as HipChat Server answered it: `POST /v1/rooms/message`,
//! `GET /v1/rooms/list`, `GET /v1/rooms/show`. Parameters come from the query and (for the
//! POST) the form body; `auth_token` from either (djhipchat2 sends it in the body) or a
//! Bearer header. The emulator's tokens serve v1 too: `rooms/message` needs
//! `send_notification` (v1's notification token), the room calls `view_group` or `view_room`
//! (v1's admin token). Errors keep v1's shape `{"error": {"code", "type", "message"}}`;
//! v1 answered an exhausted rate limit with 403, not 429. Fault rules apply as on `/v2`.

use super::gate::{ANONYMOUS, apply_fault, now_ms};
use super::messages::{notification_item, room_recipient};
use crate::auth::Caller;
use crate::state::{LoggedRequest, RoomRec, Shared, World, room_jid};
use axum::Json;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hipchat::{RoomRef, Scope, V1RoomMessage};
use hipkit_server::hipchat_api;
use hipkit_server::{ApiError, CloseConnection, TimedBody};
use serde_json::{Value, json};

/// The scopes v1's room calls accept (v1's admin token could read rooms).
const VIEW: &[Scope] = &[Scope::ViewGroup, Scope::ViewRoom];

/// The `/v1` routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/rooms/message", post(message))
        .route("/rooms/list", get(list))
        .route("/rooms/show", get(show))
        .fallback(super::not_found)
}

/// Authenticates with v1's words, counts the token's rate limit and checks the scope.
fn authorize(
    s: &Shared,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    any_of: &[Scope],
) -> Result<Caller, ApiError> {
    let token = crate::auth::raw_token(headers, pairs).filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(hipchat_api::v1_no_token());
    };
    let caller =
        crate::auth::identify(&s.world(), Some(&token)).map_err(|_| hipchat_api::v1_bad_token())?;
    if s.limiter.count_token(&caller.label).exceeded {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Rate limit exceeded. Please wait before making further requests.",
        ));
    }
    hipchat_api::v1_require(&caller.scopes, any_of, pairs)?;
    Ok(caller)
}

/// v1 answered an exhausted limit (flood control too) with 403, where v2 says 429.
fn v1_limit(e: ApiError) -> ApiError {
    if e.status() == StatusCode::TOO_MANY_REQUESTS {
        ApiError::new(StatusCode::FORBIDDEN, e.message())
    } else {
        e
    }
}

/// Applies the request's fault rule, authorizes and runs a v1 call, then records it in the
/// request log (the path only: the query may hold the token).
async fn call(
    s: &Shared,
    parts: &Parts,
    body: &[u8],
    any_of: &[Scope],
    run: impl FnOnce(&[(String, String)]) -> Result<Value, ApiError>,
) -> Response {
    let at_ms = now_ms();
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let pairs = hipchat_api::v1_params(uri.query(), body);
    let known = crate::auth::raw_token(&parts.headers, &pairs)
        .and_then(|t| s.world().token(&t).map(|rec| rec.label.clone()));
    let log = |label: Option<String>, status: u16| LoggedRequest {
        at_ms,
        method: parts.method.as_str().to_owned(),
        path: uri.path().to_owned(),
        token: label,
        status,
        outgoing: false,
    };
    let fault = s.world().take_fault(parts.method.as_str(), uri.path());
    let limit_key = known.clone().unwrap_or_else(|| ANONYMOUS.to_owned());
    let close = parts.extensions.get::<CloseConnection>().cloned();
    let early = apply_fault(s, fault, &limit_key, at_ms, close, || log(known.clone(), 0)).await;
    let mut label = None;
    let response = match early {
        Some(response) => response,
        None => {
            let result = authorize(s, &parts.headers, &pairs, any_of).and_then(|caller| {
                label = Some(caller.label);
                run(&pairs)
            });
            match result {
                Ok(body) => Json(body).into_response(),
                Err(e) => e.into_response(),
            }
        }
    };
    s.world()
        .log_request(log(label.or(known), response.status().as_u16()));
    response
}

/// `POST /v1/rooms/message` → 200 `{"status": "sent"}`; lands in the room's history as a
/// notification (and fires `room_notification` webhooks), like v2's.
async fn message(State(s): State<Shared>, parts: Parts, TimedBody(body): TimedBody) -> Response {
    call(&s, &parts, &body, &[Scope::SendNotification], |pairs| {
        let msg =
            V1RoomMessage::from_pairs(pairs).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let (room, _flood) = room_recipient(&s, &msg.room_id).map_err(v1_limit)?;
        s.world()
            .post_notification(room, notification_item(msg.into_notification()))?;
        Ok(json!({"status": "sent"}))
    })
    .await
}

/// `GET /v1/rooms/list` → `{"rooms": [...]}`.
async fn list(State(s): State<Shared>, parts: Parts) -> Response {
    call(&s, &parts, &[], VIEW, |_| {
        let world = s.world();
        let rooms: Vec<Value> = world.rooms().map(|r| v1_room(&world, r)).collect();
        Ok(json!({ "rooms": rooms }))
    })
    .await
}

/// `GET /v1/rooms/show?room_id=` (id or name) → `{"room": {..., "participants": []}}`.
async fn show(State(s): State<Shared>, parts: Parts) -> Response {
    call(&s, &parts, &[], VIEW, |pairs| {
        let room_id = pairs
            .iter()
            .find(|(k, v)| k == "room_id" && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::bad_request("invalid `room_id`: is required"))?;
        let world = s.world();
        let rec = world.room(&RoomRef::parse(room_id))?;
        let mut room = v1_room(&world, rec);
        room["participants"] = json!([]);
        room["guest_access_url"] = Value::Null;
        Ok(json!({ "room": room }))
    })
    .await
}

/// Seconds since the epoch of one of the emulator's ISO dates (0 when it has none).
fn epoch(iso: Option<&str>) -> i64 {
    iso.and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map_or(0, |d| d.timestamp())
}

/// A room as v1 described it (times in epoch seconds).
fn v1_room(world: &World, r: &RoomRec) -> Value {
    json!({
        "room_id": r.id,
        "name": r.name,
        "topic": r.topic,
        "last_active": epoch(r.history.last().map(|m| m.date.as_str())),
        "created": epoch(Some(&r.created)),
        "owner_user_id": world.user(r.owner).map_or(0, |u| u.id),
        "is_archived": false,
        "is_private": r.privacy == hipchat::Privacy::Private,
        "xmpp_jid": room_jid(r),
    })
}
