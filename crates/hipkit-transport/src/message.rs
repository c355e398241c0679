//! The message every transport carries: a destination and a room notification body.

use hipchat::{PrivateMessage, RoomNotification, RoomRef, UserRef, Validate, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// A room, by id or name.
    Room(String),
    /// A user, by id, email or `@mention`.
    User(String),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Room(r) => write!(f, "room:{r}"),
            Self::User(u) => write!(f, "user:{u}"),
        }
    }
}

/// A message to a room (as a notification) or a user (as a private message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Destination.
    pub to: Destination,
    /// The body; for users only `message`, `message_format` and `notify` apply.
    #[serde(flatten)]
    pub body: RoomNotification,
}

impl Message {
    /// A notification to a room.
    pub fn room(room: impl Into<String>, body: RoomNotification) -> Self {
        Self {
            to: Destination::Room(room.into()),
            body,
        }
    }

    /// A private message to a user.
    pub fn user(user: impl Into<String>, body: RoomNotification) -> Self {
        Self {
            to: Destination::User(user.into()),
            body,
        }
    }

    /// The private-message form of the body.
    pub fn private_message(&self) -> PrivateMessage {
        PrivateMessage {
            message: self.body.message.clone(),
            notify: self.body.notify,
            message_format: self.body.message_format,
        }
    }

    /// The room reference, for room messages.
    pub fn room_ref(&self) -> Option<RoomRef> {
        match &self.to {
            Destination::Room(r) => Some(RoomRef::parse(r)),
            Destination::User(_) => None,
        }
    }

    /// The user reference, for private messages.
    pub fn user_ref(&self) -> Option<UserRef> {
        match &self.to {
            Destination::User(u) => Some(UserRef::parse(u)),
            Destination::Room(_) => None,
        }
    }
}

impl Validate for Message {
    fn validate(&self) -> Result<(), ValidationError> {
        match &self.to {
            Destination::Room(r) => {
                hipchat::validate::length("room", r, 1, 100)?;
                self.body.validate()
            }
            Destination::User(u) => {
                hipchat::validate::length("user", u, 1, 254)?;
                let room_only = [
                    ("from", self.body.from.is_some()),
                    ("color", self.body.color.is_some()),
                    ("card", self.body.card.is_some()),
                    ("attach_to", self.body.attach_to.is_some()),
                ];
                if let Some((field, _)) = room_only.iter().find(|(_, set)| *set) {
                    return Err(ValidationError::new(
                        *field,
                        "applies to room notifications only, not private messages",
                    ));
                }
                self.private_message().validate()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hipchat::Color;

    #[test]
    fn round_trips_as_flat_json() {
        let m = Message::room("Build Room", RoomNotification::new("hi").color(Color::Red));
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["to"]["room"], "Build Room");
        assert_eq!(json["message"], "hi");
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), m);
    }

    #[test]
    fn private_messages_refuse_room_only_fields() {
        let m = Message::user("@bob", RoomNotification::new("hi").color(Color::Red));
        assert_eq!(m.validate().unwrap_err().field, "color");
        assert!(
            Message::user("@bob", RoomNotification::new("hi"))
                .validate()
                .is_ok()
        );
    }
}
