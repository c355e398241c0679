//! HipChat API v1's `POST /v1/rooms/message` (form fields `room_id`, `from`, `message`,
//! `message_format`, `notify`, `color`; `auth_token` in the query or the body), as
//! djhipchat2 and old plugins send it: read by the `hipchat` crate's [`V1RoomMessage`] and
//! answered `{"status": "sent"}` once queued, with v1's errors.

use super::Intake;
use crate::accepted::{Accepted, CallKind};
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hipchat::{Scope, V1RoomMessage};
use hipkit_server::hipchat_api::{raw_token, v1_bad_token, v1_no_token, v1_params, v1_require};
use hipkit_server::{ApiError, TimedBody};
use serde_json::json;
use std::sync::Arc;

/// `POST /v1/rooms/message` → 200 `{"status": "sent"}`.
pub async fn rooms_message(
    State(s): State<Arc<Intake>>,
    parts: Parts,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    let pairs = v1_params(parts.uri.query(), &body);
    let raw = raw_token(&parts.headers, &pairs)
        .filter(|t| !t.is_empty())
        .ok_or_else(v1_no_token)?;
    let token = s.directory.token(&raw).ok_or_else(v1_bad_token)?;
    v1_require(&token.scopes, &[Scope::SendNotification], &pairs)?;
    let msg =
        V1RoomMessage::from_pairs(&pairs).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let caller = super::caller::Caller {
        token,
        auth_test: false,
    };
    let room = caller.room(&s.directory, &msg.room_id)?;
    let accepted = Accepted::new(CallKind::Notification, &room.name, msg.into_notification());
    s.queue_room(room, &accepted).await?;
    Ok(Json(json!({"status": "sent"})).into_response())
}
