//! Sending: room notifications, room messages, private messages (with flood control).

use super::{created, sender};
use crate::extract::HipChatJson;
use crate::state::Shared;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hipchat::{
    Color, HistoryFrom, HistoryItem, MessageFormat, MessageType, PrivateMessage, RoomMessage,
    RoomNotification, RoomRef, UserRef,
};
use hipkit_server::ApiError;

/// Counts a message to `recipient`; 429 when flood control is enforced and exhausted.
fn flood(s: &Shared, recipient: &str) -> Result<HeaderMap, ApiError> {
    let count = s.limiter.count_recipient(recipient);
    let mut headers = HeaderMap::new();
    count.write_headers("floodcontrol", &mut headers);
    if count.exceeded {
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "You have exceeded the flood control limit of {} messages. Please wait before sending more.",
                count.limit
            ),
        );
        *err.headers_mut() = headers;
        return Err(err);
    }
    Ok(headers)
}

/// Resolves a room to its id and counts one message against its flood budget.
pub fn room_recipient(s: &Shared, room: &str) -> Result<(u64, HeaderMap), ApiError> {
    let id = s.world().room(&RoomRef::parse(room))?.id;
    let headers = flood(s, &format!("room:{id}"))?;
    Ok((id, headers))
}

/// Resolves a user to its id and counts one message against their flood budget.
pub fn user_recipient(s: &Shared, user: &str) -> Result<(u64, HeaderMap), ApiError> {
    let id = s.world().find_user(&UserRef::parse(user))?.id;
    let headers = flood(s, &format!("user:{id}"))?;
    Ok((id, headers))
}

/// A new history item with a fresh id and the current time.
pub fn item(from: HistoryFrom, message: String, kind: MessageType) -> HistoryItem {
    HistoryItem {
        id: uuid::Uuid::new_v4().to_string(),
        date: hipchat::now_iso(),
        from,
        message,
        kind,
        message_format: None,
        color: None,
        mentions: Vec::new(),
        file: None,
        card: None,
        attach_to: None,
        notify: None,
    }
}

fn concrete(color: Option<Color>) -> Color {
    match color.unwrap_or(Color::Yellow) {
        Color::Random => Color::CONCRETE[fastrand::usize(..Color::CONCRETE.len())],
        c => c,
    }
}

/// The history item a room notification becomes (HTML and yellow unless it says otherwise).
pub fn notification_item(n: RoomNotification) -> HistoryItem {
    let mut entry = item(
        HistoryFrom::Label(n.from.unwrap_or_default()),
        n.message,
        MessageType::Notification,
    );
    entry.message_format = Some(n.message_format.unwrap_or(MessageFormat::Html));
    entry.color = Some(concrete(n.color));
    entry.notify = Some(n.notify);
    entry.attach_to = n.attach_to;
    entry.card = n.card.and_then(|card| serde_json::to_value(card).ok());
    entry
}

/// `POST /v2/room/{room}/notification` → 204.
pub async fn notification(
    State(s): State<Shared>,
    Path(room): Path<String>,
    HipChatJson { body: n, .. }: HipChatJson<RoomNotification>,
) -> Result<Response, ApiError> {
    let (room, flood_headers) = room_recipient(&s, &room)?;
    s.world().post_notification(room, notification_item(n))?;
    Ok((StatusCode::NO_CONTENT, flood_headers).into_response())
}

/// `POST /v2/room/{room}/message` → 201 `{"id", "timestamp"}`.
pub async fn room_message(
    State(s): State<Shared>,
    Path(room): Path<String>,
    HipChatJson { caller, body: m }: HipChatJson<RoomMessage>,
) -> Result<Response, ApiError> {
    let (room, flood_headers) = room_recipient(&s, &room)?;
    let mut world = s.world();
    let mut entry = item(sender(&s, &world, &caller), m.message, MessageType::Message);
    entry.message_format = Some(MessageFormat::Text);
    let answer = serde_json::json!({"id": entry.id, "timestamp": entry.date});
    world.post_room_message(room, entry)?;
    drop(world);
    let mut resp = created(answer);
    resp.headers_mut().extend(flood_headers);
    Ok(resp)
}

/// `POST /v2/user/{user}/message` → 204.
pub async fn private_message(
    State(s): State<Shared>,
    Path(user): Path<String>,
    HipChatJson { caller, body: m }: HipChatJson<PrivateMessage>,
) -> Result<Response, ApiError> {
    let (target, flood_headers) = user_recipient(&s, &user)?;
    let mut world = s.world();
    let mut entry = item(sender(&s, &world, &caller), m.message, MessageType::Message);
    entry.message_format = Some(m.message_format.unwrap_or(MessageFormat::Text));
    entry.notify = Some(m.notify);
    world.post_private(caller.user_id, target, entry);
    drop(world);
    Ok((StatusCode::NO_CONTENT, flood_headers).into_response())
}
