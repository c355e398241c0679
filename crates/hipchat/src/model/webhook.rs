//! Room webhooks and the payloads HipChat posts to them.

use super::history::HistoryItem;
use super::page::Links;
use crate::validate::{Validate, ValidationError, http_url, optional_length};
use serde::{Deserialize, Serialize};

/// Events a room webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// Room archived.
    RoomArchived,
    /// Room created.
    RoomCreated,
    /// Room deleted.
    RoomDeleted,
    /// A user entered.
    RoomEnter,
    /// A user left.
    RoomExit,
    /// A file was uploaded.
    RoomFileUpload,
    /// A user message (slash commands are these with a `^/cmd` pattern).
    RoomMessage,
    /// A notification.
    RoomNotification,
    /// Topic changed.
    RoomTopicChange,
    /// Room unarchived.
    RoomUnarchived,
}

/// `POST /v2/room/{room}/webhook` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWebhook {
    /// Where HipChat posts events (http or https).
    pub url: String,
    /// The event to subscribe to.
    pub event: WebhookEvent,
    /// Regular expression the message must match (message events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// A label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `jwt` or `none` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<String>,
}

impl Validate for CreateWebhook {
    fn validate(&self) -> Result<(), ValidationError> {
        http_url("url", &self.url)?;
        optional_length("pattern", self.pattern.as_deref(), 1, 512)?;
        optional_length("name", self.name.as_deref(), 0, 100)?;
        match self.authentication.as_deref() {
            None | Some("jwt") | Some("none") => Ok(()),
            Some(other) => Err(ValidationError::new(
                "authentication",
                format!("`{other}` is not one of: jwt, none"),
            )),
        }
    }
}

/// A webhook as listed by `GET /v2/room/{room}/webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Webhook id.
    pub id: u64,
    /// Target URL.
    pub url: String,
    /// Subscribed event.
    pub event: WebhookEvent,
    /// Message pattern.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Label.
    #[serde(default)]
    pub name: Option<String>,
    /// `jwt` when calls are signed, `none` or absent when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<String>,
    /// `self` link.
    #[serde(default)]
    pub links: Links,
}

/// The room inside a webhook payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRoom {
    /// Room id.
    pub id: u64,
    /// Room name.
    pub name: String,
    /// Room links.
    #[serde(default)]
    pub links: Links,
    /// Version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `item` of a message webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookItem {
    /// The message that fired the webhook.
    pub message: HistoryItem,
    /// The room it was sent to.
    pub room: WebhookRoom,
}

/// The `room_message` (and `room_notification`) webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomMessagePayload {
    /// `room_message` or `room_notification`.
    pub event: WebhookEvent,
    /// Message and room.
    pub item: WebhookItem,
    /// The add-on installation's OAuth id (absent for personal-token webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_id: Option<String>,
    /// Webhook id: an integer for id-based webhooks, a string in some samples.
    #[serde(default)]
    pub webhook_id: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HistoryFrom;

    #[test]
    fn parses_the_reference_room_message_payload() {
        let raw = r#"{"event":"room_message","item":{"message":{"date":"2016-05-04T10:11:12.123456+00:00",
          "from":{"id":1001,"links":{"self":"https://api.hipchat.com/v2/user/1001"},"mention_name":"alice",
          "name":"Alice Smith","version":"00000000"},"id":"0f3a9c2e-1111-2222-3333-444455556666",
          "mentions":[],"message":"/deploy api staging","type":"message"},
          "room":{"id":2002,"links":{"self":"https://api.hipchat.com/v2/room/2002"},"name":"Ops","version":"ABCD1234"}},
          "oauth_client_id":"c0ffee00","webhook_id":578829,"extra":"ignored"}"#;
        let p: RoomMessagePayload = serde_json::from_str(raw).unwrap();
        assert_eq!(p.item.message.message, "/deploy api staging");
        assert!(
            matches!(p.item.message.from, HistoryFrom::User(ref u) if u.mention_name == "alice")
        );
        assert_eq!(p.item.room.name, "Ops");
    }

    #[test]
    fn webhook_url_must_be_http() {
        let w = CreateWebhook {
            url: "ftp://x".into(),
            event: WebhookEvent::RoomMessage,
            pattern: None,
            name: None,
            authentication: None,
        };
        assert_eq!(w.validate().unwrap_err().field, "url");
    }
}
