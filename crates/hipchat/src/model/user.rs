//! Users: the user object and creation.

use super::page::Links;
use crate::validate::{Validate, ValidationError, length, optional_length};
use serde::{Deserialize, Serialize};

/// A user (full object from `GET /v2/user/{user}`, summary in lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Mention name (without `@`).
    pub mention_name: String,
    /// `self` link.
    #[serde(default)]
    pub links: Links,
    /// Version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Email (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Job title (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// XMPP JID (full object only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmpp_jid: Option<String>,
    /// Whether the user is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_deleted: Option<bool>,
    /// Whether the user is a group admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group_admin: Option<bool>,
    /// Whether the user is a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_guest: Option<bool>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Presence, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<serde_json::Value>,
}

/// `POST /v2/user` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateUser {
    /// Display name, 1..50 characters.
    pub name: String,
    /// Email address (unique).
    pub email: String,
    /// Mention name, no spaces (absent or empty: derived from the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_name: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Whether the user is a group admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group_admin: Option<bool>,
    /// IANA time zone (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl Validate for CreateUser {
    fn validate(&self) -> Result<(), ValidationError> {
        length("name", &self.name, 1, 50)?;
        length("email", &self.email, 3, 254)?;
        if !self.email.contains('@') {
            return Err(ValidationError::new("email", "must be an email address"));
        }
        optional_length("mention_name", self.mention_name.as_deref(), 0, 50)?;
        if self
            .mention_name
            .as_deref()
            .is_some_and(|m| m.contains(char::is_whitespace) || m.starts_with('@'))
        {
            return Err(ValidationError::new(
                "mention_name",
                "must not contain spaces or start with @",
            ));
        }
        optional_length("title", self.title.as_deref(), 0, 50)
    }
}
