//! Rooms: the room object, creation, statistics.

use super::history::UserLink;
use super::page::Links;
use crate::validate::{Validate, ValidationError, length, optional_length};
use serde::{Deserialize, Serialize};

/// Who may join a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    /// Anyone in the group.
    #[default]
    Public,
    /// Members only.
    Private,
}

/// A room (full object from `GET /v2/room/{room}`, summary in lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    /// Room id.
    pub id: u64,
    /// Room name.
    pub name: String,
    /// Links to the room, its webhooks, members and participants.
    #[serde(default)]
    pub links: Links,
    /// Public or private.
    #[serde(default)]
    pub privacy: Privacy,
    /// Whether it is archived.
    #[serde(default)]
    pub is_archived: bool,
    /// Version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Topic (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// XMPP JID (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmpp_jid: Option<String>,
    /// Whether guests may join (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_guest_accessible: Option<bool>,
    /// Guest URL when guest access is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_access_url: Option<String>,
    /// Creation time (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Owner (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserLink>,
}

/// `POST /v2/room` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateRoom {
    /// Name, 1..50 characters.
    pub name: String,
    /// Public (default) or private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// Initial topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Owner: id, email or @mention (default: the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<String>,
    /// Whether guests may join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_access: Option<bool>,
}

impl CreateRoom {
    /// A public room with this name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

impl Validate for CreateRoom {
    fn validate(&self) -> Result<(), ValidationError> {
        length("name", &self.name, 1, 50)?;
        optional_length("topic", self.topic.as_deref(), 0, 250)
    }
}

/// `PUT /v2/room/{room}/topic`: the new topic, 0..250 characters (empty clears it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetTopic {
    /// The topic.
    pub topic: String,
}

impl Validate for SetTopic {
    fn validate(&self) -> Result<(), ValidationError> {
        length("topic", &self.topic, 0, 250)
    }
}

/// The 201 answer to a create call: `{"id", "links"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    /// The new object's id.
    pub id: u64,
    /// Its `self` link.
    #[serde(default)]
    pub links: Links,
}

/// `GET /v2/room/{room}/statistics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomStatistics {
    /// Messages and notifications sent to the room.
    pub messages_sent: u64,
    /// Time of the last message, if any.
    #[serde(default)]
    pub last_active: Option<String>,
    /// `self` link.
    #[serde(default)]
    pub links: Links,
}
