//! `POST /v2/room/{room}/notification`: the notification body and its card.

use super::enums::{Color, MessageFormat};
use crate::validate::{Validate, ValidationError, length, optional_length};
use serde::{Deserialize, Deserializer, Serialize};

/// A room notification (the way bots and integrations post to a room).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoomNotification {
    /// The message body, 1..10,000 characters.
    pub message: String,
    /// `html` (HipChat's default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_format: Option<MessageFormat>,
    /// Background colour; HipChat's default is yellow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Whether the message triggers a user notification.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub notify: bool,
    /// Label shown next to the sender's name, 0..64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Id of a message in the same room to attach to, 0..36 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_to: Option<String>,
    /// An optional card; `message` stays the fallback text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
}

impl RoomNotification {
    /// A notification with HipChat's defaults and the given body.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets the colour.
    pub fn color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }

    /// Sets the message format.
    pub fn format(mut self, format: MessageFormat) -> Self {
        self.message_format = Some(format);
        self
    }

    /// Sets the sender label.
    pub fn from_label(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Sets whether users are notified.
    pub fn notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }
}

impl Validate for RoomNotification {
    fn validate(&self) -> Result<(), ValidationError> {
        length("message", &self.message, 1, 10_000)?;
        optional_length("from", self.from.as_deref(), 0, 64)?;
        optional_length("attach_to", self.attach_to.as_deref(), 0, 36)?;
        self.card.as_ref().map_or(Ok(()), Validate::validate)
    }
}

/// Accepts `true`/`false` and the strings `"true"`/`"false"` (HipChat took both).
pub fn bool_or_string<'de, D: Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Flag::deserialize(de)? {
        Flag::Bool(b) => Ok(b),
        Flag::Text(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "expected a boolean, got \"{other}\""
            ))),
        },
    }
}

/// A card attached to a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// `file`, `image`, `application`, `link` or `media`.
    pub style: CardStyle,
    /// Title, 1..500 characters.
    pub title: String,
    /// Unique id, used to de-duplicate cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Plain or formatted description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<CardDescription>,
    /// `compact` or `medium` (application cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Link opened when the card is clicked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Thumbnail image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<CardThumbnail>,
    /// Activity line (`{html, icon}`), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<serde_json::Value>,
    /// Label/value attributes, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<serde_json::Value>>,
    /// Icon (`{url, url@2x}`), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<serde_json::Value>,
    /// Epoch milliseconds shown on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
}

/// The kind of card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStyle {
    /// A file.
    File,
    /// An image.
    Image,
    /// An application object (issue, build ...).
    Application,
    /// A link preview.
    Link,
    /// Media.
    Media,
}

/// A card description: a plain string or `{value, format}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CardDescription {
    /// Plain text.
    Plain(String),
    /// Text or HTML with an explicit format.
    Formatted {
        /// The description, 1..1000 characters.
        value: String,
        /// `html` or `text`.
        format: MessageFormat,
    },
}

/// A card thumbnail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardThumbnail {
    /// Image URL, 1..250 characters.
    pub url: String,
    /// High-resolution image URL.
    #[serde(rename = "url@2x", default, skip_serializing_if = "Option::is_none")]
    pub url_2x: Option<String>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Validate for Card {
    fn validate(&self) -> Result<(), ValidationError> {
        length("card.title", &self.title, 1, 500)?;
        let description = match &self.description {
            Some(CardDescription::Plain(v)) | Some(CardDescription::Formatted { value: v, .. }) => {
                Some(v.as_str())
            }
            None => None,
        };
        optional_length("card.description", description, 1, 1000)?;
        if let Some(t) = &self.thumbnail {
            length("card.thumbnail.url", &t.url, 1, 250)?;
        }
        if let Some(f) = self.format.as_deref()
            && !matches!(f, "compact" | "medium")
        {
            return Err(ValidationError::new(
                "card.format",
                format!("`{f}` is not one of: compact, medium"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serialize_minimally_and_notify_accepts_strings() {
        let n = RoomNotification::new("hi");
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            serde_json::json!({"message": "hi", "notify": false})
        );
        let parsed: RoomNotification =
            serde_json::from_str(r#"{"message":"x","notify":"true"}"#).unwrap();
        assert!(parsed.notify);
    }

    #[test]
    fn limits_are_checked_with_field_names() {
        assert_eq!(
            RoomNotification::new("").validate().unwrap_err().field,
            "message"
        );
        let long_from = RoomNotification::new("x").from_label("f".repeat(65));
        assert_eq!(long_from.validate().unwrap_err().field, "from");
        assert!(RoomNotification::new("x".repeat(10_000)).validate().is_ok());
        assert!(
            RoomNotification::new("x".repeat(10_001))
                .validate()
                .is_err()
        );
    }
}
