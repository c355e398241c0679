//! HipChat's API v1 `rooms/message` call (form fields, as djhipchat2 and python-simple-hipchat
//! send it): one definition of what v1 accepts, shared by the emulator and the bridge.

use super::enums::{Color, MessageFormat};
use super::notification::RoomNotification;
use crate::validate::{ValidationError, length};

/// The longest v1 `from` label. HipChat's v1 docs say "less than 15 characters"; the clients
/// (python-simple-hipchat truncates to 15, Ansible documents "max 15") rely on 15 passing.
pub const V1_FROM_MAX: usize = 15;

/// The longest v1 message body.
pub const V1_MESSAGE_MAX: usize = 10_000;

/// A validated `POST /v1/rooms/message`.
#[derive(Debug, Clone, PartialEq)]
pub struct V1RoomMessage {
    /// The room's id or name, as given.
    pub room_id: String,
    /// Sender label: letters, digits, `-`, `_` and spaces, 1..15 characters.
    pub from: String,
    /// The body, 1..10,000 characters.
    pub message: String,
    /// `html` (v1's default) or `text`.
    pub message_format: MessageFormat,
    /// `notify=1`.
    pub notify: bool,
    /// Background colour (yellow when absent or empty).
    pub color: Color,
}

fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(pairs: &'a [(String, String)], key: &str) -> Result<&'a str, ValidationError> {
    field(pairs, key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ValidationError::new(key, "is required"))
}

/// A v1 flag: `0`/`1` (HipChat's form) and `true`/`false`; absent or empty is false.
fn flag(pairs: &[(String, String)], key: &str) -> Result<bool, ValidationError> {
    match field(pairs, key).map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(other) => Err(ValidationError::new(
            key,
            format!("`{other}` is not one of: 0, 1"),
        )),
    }
}

impl V1RoomMessage {
    /// Reads and checks the form fields (query and body pairs together).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ValidationError> {
        let room_id = required(pairs, "room_id")?.to_owned();
        let from = required(pairs, "from")?;
        length("from", from, 1, V1_FROM_MAX)?;
        if !from
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        {
            return Err(ValidationError::new(
                "from",
                "may contain only letters, digits, `-`, `_` and spaces",
            ));
        }
        let message = required(pairs, "message")?;
        length("message", message, 1, V1_MESSAGE_MAX)?;
        let message_format = match field(pairs, "message_format") {
            None | Some("") => MessageFormat::Html,
            Some(f) => f.parse()?,
        };
        let color = match field(pairs, "color") {
            None | Some("") => Color::Yellow,
            Some(c) => c.parse()?,
        };
        Ok(Self {
            room_id,
            from: from.to_owned(),
            message: message.to_owned(),
            message_format,
            notify: flag(pairs, "notify")?,
            color,
        })
    }

    /// The same message as a v2 room notification (how it lands in the room's history).
    pub fn into_notification(self) -> RoomNotification {
        RoomNotification::new(self.message)
            .from_label(self.from)
            .format(self.message_format)
            .color(self.color)
            .notify(self.notify)
    }
}

/// v1's `format` selector: only `json` (the default) is served.
pub fn v1_format_is_json(pairs: &[(String, String)]) -> bool {
    matches!(field(pairs, "format"), None | Some("" | "json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn djhipchat2_form_parses_with_v1_defaults() {
        let m = V1RoomMessage::from_pairs(&pairs(&[
            ("room_id", "Build Room"),
            ("from", "Django"),
            ("message", "Deployed"),
            ("notify", "0"),
            ("color", ""),
        ]))
        .unwrap();
        assert_eq!(m.message_format, MessageFormat::Html);
        assert_eq!(m.color, Color::Yellow);
        assert!(!m.notify);
        let n = m.into_notification();
        assert_eq!(n.from.as_deref(), Some("Django"));
    }

    #[test]
    fn v1_limits_name_the_field() {
        let base = [("room_id", "1"), ("message", "x")];
        let with = |extra: &[(&str, &str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            V1RoomMessage::from_pairs(&pairs(&all)).map_err(|e| e.field)
        };
        assert!(with(&[("from", &"f".repeat(15))]).is_ok());
        assert_eq!(with(&[("from", &"f".repeat(16))]).unwrap_err(), "from");
        assert_eq!(with(&[("from", "a.b")]).unwrap_err(), "from");
        assert_eq!(with(&[]).unwrap_err(), "from");
        assert_eq!(
            with(&[("from", "a"), ("notify", "yes")]).unwrap_err(),
            "notify"
        );
        assert_eq!(
            with(&[("from", "a"), ("color", "grey")]).unwrap_err(),
            "color"
        );
    }
}
