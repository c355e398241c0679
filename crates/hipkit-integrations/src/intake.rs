//! Webhook intake: the raw body of a `room_message` (or `room_notification`) webhook parsed
//! leniently (extra keys, `from` as a string or an object, `webhook_id` as a string or a
//! number, no `oauth_client_id`), with the event checked and every failure named precisely.

use serde_json::Value;

/// A webhook the integrations can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// `room_message` or `room_notification`.
    pub event: String,
    /// The message text (`item.message.message`).
    pub message: String,
    /// The room id as digits (`item.room.id`, a number or a numeric string).
    pub room_id: String,
    /// The sender's name (`from.name`, or `from` itself when it is a label).
    pub sender: Option<String>,
    /// The OAuth client id of the installation, if sent.
    pub oauth_client_id: Option<String>,
    /// The whole payload, as the integration receives it.
    pub payload: Value,
}

/// The seed's raw-body admin commands, answered with the new way instead of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedCommand {
    /// `save FILE`.
    Save,
    /// `load FILE`.
    Load,
    /// `erase`.
    Erase,
}

impl SeedCommand {
    /// What replaces it.
    pub fn new_way(self) -> &'static str {
        match self {
            Self::Save => {
                "the `save FILE` command is gone: export an integration's storage with \
                 `GET /admin/storage/{integration}` or `hipkit storage export INTEGRATION` \
                 (admin token required); no file named by a request is ever written"
            }
            Self::Load => {
                "the `load FILE` command is gone: import an integration's storage with \
                 `PUT /admin/storage/{integration}` (a JSON object) or `hipkit storage import \
                 INTEGRATION FILE` (admin token required); no file named by a request is ever read"
            }
            Self::Erase => {
                "the `erase` command is gone: erase an integration's storage with \
                 `DELETE /admin/storage/{integration}` or `hipkit storage erase INTEGRATION` \
                 (admin token required)"
            }
        }
    }
}

/// Why a body is not a usable webhook.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// One of the seed's raw-body admin commands.
    #[error("{}", .0.new_way())]
    SeedCommand(SeedCommand),
    /// The body is not UTF-8.
    #[error("the body is not UTF-8 (invalid byte at offset {0})")]
    NotUtf8(usize),
    /// The body is not JSON.
    #[error("the body is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A field the webhook needs is missing or of the wrong type.
    #[error("`{field}` {problem}")]
    Field {
        /// The field's path, e.g. `item.message.message`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An event the integrations do not handle.
    #[error("event `{0}` is not handled here (expected room_message or room_notification)")]
    Event(String),
}

/// Recognises the seed's `save`/`load`/`erase` text commands by their prefix, as it did.
pub fn seed_command(body: &[u8]) -> Option<SeedCommand> {
    if body.starts_with(b"save") {
        Some(SeedCommand::Save)
    } else if body.starts_with(b"load") {
        Some(SeedCommand::Load)
    } else if body.starts_with(b"erase") {
        Some(SeedCommand::Erase)
    } else {
        None
    }
}

/// Parses a webhook body.
pub fn parse(body: &[u8]) -> Result<Webhook, IntakeError> {
    if let Some(cmd) = seed_command(body) {
        return Err(IntakeError::SeedCommand(cmd));
    }
    let text = std::str::from_utf8(body).map_err(|e| IntakeError::NotUtf8(e.valid_up_to()))?;
    let payload: Value = serde_json::from_str(text).map_err(IntakeError::Json)?;
    let field = |field, problem| IntakeError::Field { field, problem };
    if !payload.is_object() {
        return Err(field("(body)", "must be a JSON object"));
    }
    let event = match payload.get("event") {
        Some(Value::String(e)) => e.clone(),
        Some(_) => return Err(field("event", "must be a string")),
        None => return Err(field("event", "is missing")),
    };
    if event != "room_message" && event != "room_notification" {
        return Err(IntakeError::Event(event));
    }
    let message = payload
        .pointer("/item/message")
        .ok_or(field("item.message", "is missing"))?;
    let text = match message.get("message") {
        Some(Value::String(m)) => m.clone(),
        Some(_) => return Err(field("item.message.message", "must be a string")),
        None => return Err(field("item.message.message", "is missing")),
    };
    let room_id = match payload.pointer("/item/room/id") {
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.clone()
        }
        Some(_) => return Err(field("item.room.id", "must be a room id (digits)")),
        None => return Err(field("item.room.id", "is missing")),
    };
    let sender = match message.get("from") {
        Some(Value::String(label)) => Some(label.clone()),
        Some(from) => from.get("name").and_then(Value::as_str).map(str::to_owned),
        None => None,
    };
    let oauth_client_id = payload
        .get("oauth_client_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Webhook {
        event,
        message: text,
        room_id,
        sender,
        oauth_client_id,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn lenient_shapes() {
        let hook = parse(&body(json!({
            "event": "room_notification", "extra": 1, "webhook_id": "abc",
            "item": {"message": {"message": "/x y", "from": "CI bot", "color": "red"},
                     "room": {"id": "42", "name": "Ops"}}
        })))
        .unwrap();
        assert_eq!(hook.room_id, "42");
        assert_eq!(hook.sender.as_deref(), Some("CI bot"));
        assert_eq!(hook.oauth_client_id, None);
        let hook = parse(&body(json!({
            "event": "room_message", "oauth_client_id": "c0ffee", "webhook_id": 5,
            "item": {"message": {"message": "50% off", "from": {"name": "Al"}}, "room": {"id": 7}}
        })))
        .unwrap();
        assert_eq!(hook.sender.as_deref(), Some("Al"));
        assert_eq!(hook.oauth_client_id.as_deref(), Some("c0ffee"));
    }

    #[test]
    fn precise_errors() {
        let err = |b: &[u8]| parse(b).unwrap_err().to_string();
        assert!(err(b"save /etc/passwd").contains("GET /admin/storage"));
        assert!(err(b"erase").contains("DELETE /admin/storage"));
        assert!(err(b"{\"a\": \"\xff\"}").contains("offset 7"));
        assert!(err(b"{nope").contains("not JSON"));
        assert!(err(b"[1]").contains("JSON object"));
        assert!(err(&body(json!({"event": "room_enter"}))).contains("room_enter"));
        assert!(err(&body(json!({"event": "room_message"}))).contains("item.message"));
        assert!(
            err(&body(
                json!({"event": "room_message", "item": {"message": {"message": "x"},
            "room": {"id": "../1"}}})
            ))
            .contains("item.room.id")
        );
    }
}
