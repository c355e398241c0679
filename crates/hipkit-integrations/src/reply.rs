//! Replies: what an integration returns becomes the webhook's answer, which HipChat posts
//! into the room as a notification. A string is a text notification, a dict a notification
//! with HipChat's fields (checked against HipChat's limits), nothing an empty 204; failures
//! are red text notifications saying what went wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipchat::{Color, MessageFormat, RoomNotification, Validate};
use serde_json::Value;
use std::sync::Arc;

/// Fields an integration's reply may carry (the send-room-notification request's).
const REPLY_FIELDS: &[&str] = &[
    "message",
    "message_format",
    "color",
    "notify",
    "from",
    "card",
    "attach_to",
];

/// The webhook's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Nothing to post: 204.
    Empty,
    /// A notification for the room: 200 with it as JSON.
    Notification(Box<RoomNotification>),
}

/// Why a returned value cannot be a reply. The causes are sources: show it with
/// [`hipchat::error_chain`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReplyError {
    /// A dict with a field a notification does not have.
    #[error("the reply has an unknown field `{0}` (allowed: {allowed})", allowed = REPLY_FIELDS.join(", "))]
    UnknownField(String),
    /// A dict that does not read as a notification.
    #[error("the reply is not a notification")]
    NotANotification(#[source] Arc<serde_json::Error>),
    /// A notification that breaks HipChat's limits.
    #[error("the reply is not a valid notification")]
    Invalid(#[source] hipchat::ValidationError),
    /// Neither None, a string nor a dict.
    #[error("the reply must be None, a string or a dict, not {0}")]
    WrongType(&'static str),
}

impl PartialEq for ReplyError {
    /// The same variant saying the same (a parser's error is compared by its text).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::UnknownField(a), Self::UnknownField(b)) => a == b,
            (Self::NotANotification(a), Self::NotANotification(b)) => {
                a.to_string() == b.to_string()
            }
            (Self::Invalid(a), Self::Invalid(b)) => a == b,
            (Self::WrongType(a), Self::WrongType(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for ReplyError {}

impl Reply {
    /// A plain-text notification.
    pub fn text(message: impl Into<String>) -> Self {
        Self::Notification(Box::new(
            RoomNotification::new(message).format(MessageFormat::Text),
        ))
    }

    /// A red plain-text notification reporting a failure.
    pub fn error(message: impl Into<String>) -> Self {
        Self::Notification(Box::new(
            RoomNotification::new(message)
                .format(MessageFormat::Text)
                .color(Color::Red),
        ))
    }

    /// An integration's return value: `null`, a string or a notification object.
    pub fn from_value(value: Value) -> Result<Self, ReplyError> {
        match value {
            Value::Null => Ok(Self::Empty),
            Value::String(s) if s.is_empty() => Ok(Self::Empty),
            Value::String(s) => checked(Self::text(s)),
            Value::Object(map) => {
                if let Some(unknown) = map.keys().find(|k| !REPLY_FIELDS.contains(&k.as_str())) {
                    return Err(ReplyError::UnknownField(unknown.clone()));
                }
                let n: RoomNotification = serde_json::from_value(Value::Object(map))
                    .map_err(|e| ReplyError::NotANotification(Arc::new(e)))?;
                checked(Self::Notification(Box::new(n)))
            }
            other => Err(ReplyError::WrongType(kind(&other))),
        }
    }

    /// An executable's standard output: a JSON notification object, or plain text.
    pub fn from_stdout(out: &[u8]) -> Result<Self, ReplyError> {
        let text = String::from_utf8_lossy(out);
        let trimmed = text.trim();
        if trimmed.starts_with('{')
            && let Ok(value) = serde_json::from_str::<Value>(trimmed)
        {
            return Self::from_value(value);
        }
        Self::from_value(Value::String(trimmed.to_owned()))
    }
}

fn checked(reply: Reply) -> Result<Reply, ReplyError> {
    if let Reply::Notification(n) = &reply {
        n.validate().map_err(ReplyError::Invalid)?;
    }
    Ok(reply)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "None",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a dict",
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Self::Empty => StatusCode::NO_CONTENT.into_response(),
            Self::Notification(n) => (StatusCode::OK, axum::Json(*n)).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values() {
        assert_eq!(Reply::from_value(Value::Null), Ok(Reply::Empty));
        let Reply::Notification(n) = Reply::from_value(json!("hi <b>")).unwrap() else {
            panic!()
        };
        assert_eq!(n.message_format, Some(MessageFormat::Text));
        let Reply::Notification(n) =
            Reply::from_value(json!({"message": "x", "color": "green", "notify": true})).unwrap()
        else {
            panic!()
        };
        assert_eq!(n.color, Some(Color::Green));
        assert!(
            Reply::from_value(json!({"mesage": "x"}))
                .unwrap_err()
                .to_string()
                .contains("mesage")
        );
        assert!(Reply::from_value(json!({"message": "x", "color": "pink"})).is_err());
        assert!(Reply::from_value(json!({"message": ""})).is_err());
        assert!(
            Reply::from_value(json!([1]))
                .unwrap_err()
                .to_string()
                .contains("list")
        );
    }

    #[test]
    fn stdout() {
        assert_eq!(Reply::from_stdout(b"  \n"), Ok(Reply::Empty));
        assert_eq!(Reply::from_stdout(b"hello\n"), Ok(Reply::text("hello")));
        let Reply::Notification(n) =
            Reply::from_stdout(br#"{"message": "m", "color": "purple"}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(n.color, Some(Color::Purple));
        assert_eq!(
            Reply::from_stdout(b"{not json"),
            Ok(Reply::text("{not json"))
        );
    }
}
