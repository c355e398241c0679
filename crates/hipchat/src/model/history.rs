//! History items: what room and private chat history return.

use super::enums::{Color, MessageFormat};
use super::page::Links;
use serde::{Deserialize, Serialize};

/// A user as referenced from messages, webhooks and rooms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLink {
    /// User id.
    pub id: u64,
    /// Mention name (without `@`).
    pub mention_name: String,
    /// Display name.
    pub name: String,
    /// `self` link.
    #[serde(default)]
    pub links: Links,
    /// Version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `from` of a history item: a user object for messages, a label for notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HistoryFrom {
    /// A user sent it.
    User(UserLink),
    /// A notification's sender label.
    Label(String),
}

/// Kind of history item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// A user message (room or private).
    Message,
    /// A notification.
    Notification,
    /// A guest-access change.
    GuestAccess,
    /// A topic change.
    Topic,
}

/// A shared file as shown in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Where to download it.
    pub url: String,
    /// Thumbnail URL, for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
}

/// One message in room or private chat history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Message id (UUID).
    pub id: String,
    /// ISO-8601 timestamp with microseconds.
    pub date: String,
    /// Who sent it.
    pub from: HistoryFrom,
    /// The message body.
    pub message: String,
    /// `message`, `notification` ...
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Format of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_format: Option<MessageFormat>,
    /// Colour (notifications only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Users mentioned.
    #[serde(default)]
    pub mentions: Vec<UserLink>,
    /// Shared file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// Card attached to a notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<serde_json::Value>,
    /// Id of the message this one is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_to: Option<String>,
    /// Whether the sender asked to notify (emulator extension; HipChat does not return it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}
