//! `POST /api/v1/messages` and `GET /api/v1/messages/{id}`.

use super::SendApi;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipchat::{Card, Color, MessageFormat, RoomNotification, bool_or_string};
use hipkit_server::ApiError;
use hipkit_transport::{DeliveryState, Message, TransportError};
use serde::Deserialize;

/// The send request: a room or a user, and the notification fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    room: Option<String>,
    user: Option<String>,
    message: String,
    from: Option<String>,
    message_format: Option<MessageFormat>,
    color: Option<Color>,
    #[serde(default, deserialize_with = "bool_or_string")]
    notify: bool,
    card: Option<Card>,
    attach_to: Option<String>,
}

impl SendRequest {
    fn into_message(self) -> Result<Message, ApiError> {
        let body = RoomNotification {
            message: self.message,
            message_format: self.message_format,
            color: self.color,
            notify: self.notify,
            from: self.from,
            attach_to: self.attach_to,
            card: self.card,
        };
        match (self.room, self.user) {
            (Some(room), None) => Ok(Message::room(room, body)),
            (None, Some(user)) => Ok(Message::user(user, body)),
            _ => Err(ApiError::bad_request(
                "give exactly one of `room` or `user`",
            )),
        }
    }
}

/// The answer for a transport's refusal.
fn refused(e: TransportError) -> ApiError {
    let status = match &e {
        TransportError::Invalid(_) => StatusCode::BAD_REQUEST,
        TransportError::HipChat(_) => StatusCode::BAD_GATEWAY,
        TransportError::Io { .. } | TransportError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.to_string())
}

/// Accepts a message: 202 `{"id", "state": "queued"}` from the outbox, 200 when delivered.
pub async fn send(
    State(api): State<SendApi>,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|r| ApiError::new(r.status(), r.body_text()))?;
    let message = req.into_message()?;
    let delivery = api.transport.send(&message).await.map_err(refused)?;
    api.metrics.accepted.inc();
    let status = match delivery.state {
        DeliveryState::Queued => StatusCode::ACCEPTED,
        DeliveryState::Delivered => StatusCode::OK,
    };
    Ok((status, Json(delivery)).into_response())
}

/// A message's delivery state (outbox backend only).
pub async fn status(
    State(api): State<SendApi>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = api
        .outbox
        .as_ref()
        .ok_or_else(|| ApiError::not_found("message tracking needs the outbox delivery backend"))?;
    let record = store
        .get(&id)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    Ok(Json(serde_json::json!({
        "id": record.id,
        "state": record.state,
        "destination": record.destination,
        "attempts": record.attempts,
        "last_error": record.last_error,
        "next_attempt_at_ms": record.next_attempt_at,
        "created_at_ms": record.created_at,
        "updated_at_ms": record.updated_at,
        "delivered_at_ms": record.delivered_at,
    }))
    .into_response())
}
