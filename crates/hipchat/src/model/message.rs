//! Room messages (sent as the token's user) and private 1:1 messages.

use super::enums::MessageFormat;
use super::notification::bool_or_string;
use crate::validate::{Validate, ValidationError, length};
use serde::{Deserialize, Serialize};

/// `POST /v2/room/{room}/message`: a message typed into the room as the token's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// The text, 1..1,000 characters.
    pub message: String,
}

impl Validate for RoomMessage {
    fn validate(&self) -> Result<(), ValidationError> {
        length("message", &self.message, 1, 1000)
    }
}

/// The 201 answer to a room message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessageCreated {
    /// Message id (a UUID).
    pub id: String,
    /// When it was stored (ISO-8601).
    pub timestamp: String,
}

/// `POST /v2/user/{user}/message`: a private message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrivateMessage {
    /// The text, 1..10,000 characters.
    pub message: String,
    /// Whether the recipient is notified.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub notify: bool,
    /// `text` (HipChat's default for private messages) or `html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_format: Option<MessageFormat>,
}

impl PrivateMessage {
    /// A private message with HipChat's defaults.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}

impl Validate for PrivateMessage {
    fn validate(&self) -> Result<(), ValidationError> {
        length("message", &self.message, 1, 10_000)
    }
}
