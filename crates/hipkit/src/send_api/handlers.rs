//! `POST /api/v1/messages` and `GET /api/v1/messages/{id}`.

use super::SendApi;
use super::body::parse_json;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hipchat::{Card, Color, MessageFormat, RoomNotification, bool_or_string};
use hipkit_server::{ApiError, RequestDeadline, TimedBody};
use hipkit_transport::{DeliveryState, Message, SendOptions, TransportError};
use serde::Deserialize;

/// Longest accepted idempotency key.
const MAX_KEY_LEN: usize = 255;

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
    /// The client's own id for the message: an idempotency key, as the header is.
    id: Option<String>,
}

impl SendRequest {
    /// The idempotency key: the `Idempotency-Key` header or the body's `id` (equal if both).
    fn idempotency_key(&self, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
        let header = hipkit_server::idempotency_key(headers, MAX_KEY_LEN)?;
        match (header, &self.id) {
            (Some(h), Some(id)) if h != id => Err(ApiError::bad_request(
                "the Idempotency-Key header and the body's `id` differ",
            )),
            (Some(h), _) => Ok(Some(h.to_owned())),
            (None, Some(id)) => {
                hipkit_server::check_idempotency_key(id, MAX_KEY_LEN)?;
                Ok(Some(id.clone()))
            }
            (None, None) => Ok(None),
        }
    }

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
        TransportError::Invalid(_) | TransportError::IdempotencyUnsupported => {
            StatusCode::BAD_REQUEST
        }
        TransportError::IdempotencyConflict { .. } => StatusCode::CONFLICT,
        TransportError::HipChat(_) => StatusCode::BAD_GATEWAY,
        TransportError::OutcomeUnknown => StatusCode::GATEWAY_TIMEOUT,
        TransportError::Io { .. } | TransportError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.to_string())
}

/// Accepts a message: 202 `{"id", "state": "queued"}` from the outbox, 200 when delivered.
/// The answer is the truth by the request's deadline: a 503 "not stored" means exactly
/// that, and a retry with the same `Idempotency-Key` gets the first answer again.
pub async fn send(
    State(api): State<SendApi>,
    RequestDeadline(deadline): RequestDeadline,
    headers: HeaderMap,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    let req: SendRequest = parse_json(&headers, &body)?;
    let idempotency_key = req.idempotency_key(&headers)?;
    let message = req.into_message()?;
    // One lane per room or user: the outbox delivers a destination's messages in order.
    let options = SendOptions {
        deadline: Some(deadline),
        idempotency_key,
        lane: Some(message.to.to_string()),
    };
    let sent = api
        .transport
        .send_with(&message, &options)
        .await
        .map_err(refused)?;
    if !sent.replayed {
        api.metrics.accepted.inc();
    }
    let status = match sent.delivery.state {
        DeliveryState::Queued => StatusCode::ACCEPTED,
        DeliveryState::Delivered => StatusCode::OK,
    };
    let mut response = (status, Json(sent.delivery)).into_response();
    if sent.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
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
