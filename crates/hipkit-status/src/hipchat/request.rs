//! Turning the hooks' output into messages: Buildbot's `postData` (the message, then the
//! extra params merged over it), user first, then room; nothing when the message is empty
//! or there is no destination.

use super::config::NOTIFICATION_FIELDS;
use super::format::{FormatError, Recipients};
use hipchat::RoomNotification;
use hipkit_transport::Message;
use serde_json::{Map, Value};

/// The messages for one report, user first; empty when there is nothing to send.
pub fn messages(
    recipients: Recipients,
    message: String,
    extra: Map<String, Value>,
) -> Result<Vec<Message>, FormatError> {
    let mut post = Map::new();
    post.insert("message".into(), Value::String(message));
    post.extend(extra);
    let empty = match post.get("message") {
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Null) | None => true,
        Some(_) => false,
    };
    if empty {
        tracing::debug!("empty build status message: nothing sent");
        return Ok(Vec::new());
    }
    if recipients.id_or_email.is_none() && recipients.room_id_or_name.is_none() {
        tracing::debug!("no room or user for this builder: nothing sent");
        return Ok(Vec::new());
    }
    if let Some(key) = post
        .keys()
        .find(|k| !NOTIFICATION_FIELDS.contains(&k.as_str()))
    {
        return Err(FormatError::UnknownField(key.clone()));
    }
    let body: RoomNotification =
        serde_json::from_value(Value::Object(post)).map_err(FormatError::Body)?;
    let mut out = Vec::with_capacity(2);
    if let Some(user) = recipients.id_or_email {
        // A private message carries only message, format and notify.
        let private = RoomNotification {
            message: body.message.clone(),
            message_format: body.message_format,
            notify: body.notify,
            ..RoomNotification::default()
        };
        out.push(Message::user(user, private));
    }
    if let Some(room) = recipients.room_id_or_name {
        out.push(Message::room(room, body));
    }
    Ok(out)
}
