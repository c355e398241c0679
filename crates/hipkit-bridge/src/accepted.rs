//! What the outbox keeps of an accepted call, one per destination: the HipChat-side message
//! and where it was addressed, never a secret (no token, no destination URL). The courier
//! renders it for its destination at delivery, with the live configuration.

use hipchat::{Color, MessageFormat, RoomNotification};
use serde::{Deserialize, Serialize};

/// Which HipChat call was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// `POST /v2/room/{room}/notification` or v1's `rooms/message`.
    Notification,
    /// `POST /v2/room/{room}/message`: typed into the room as the token's user.
    Message,
    /// `POST /v2/user/{user}/message`.
    Private,
    /// `POST /v2/room/{room}/share/file` (or a user's).
    File,
}

/// A shared file as kept: its name, size and type, and, for a destination that takes
/// uploads, its bytes (so that they are as durable as the message: committed with the parcel
/// before HipChat's answer).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileNote {
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its content type.
    pub content_type: String,
    /// The bytes, base64 (standard alphabet); absent for destinations that only name files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl std::fmt::Debug for FileNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileNote")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("content_type", &self.content_type)
            .field("data", &self.data.as_ref().map(|d| d.len()))
            .finish()
    }
}

impl FileNote {
    /// A note of `data` named `name`, the bytes kept.
    pub fn with_bytes(name: String, content_type: String, data: &[u8]) -> Self {
        use base64::Engine;
        Self {
            name,
            size: data.len() as u64,
            content_type,
            data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
        }
    }

    /// The file's bytes, when kept (`None` also for bytes that are not valid base64).
    pub fn bytes(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        let data = self.data.as_deref()?;
        base64::engine::general_purpose::STANDARD.decode(data).ok()
    }

    /// The same note without the bytes.
    pub fn named_only(&self) -> Self {
        Self {
            data: None,
            ..self.clone()
        }
    }
}

/// One accepted call for one destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// Unique per parcel, kept across retries: Matrix's transaction id is made from it, so a
    /// retry never posts twice.
    pub id: String,
    /// The call.
    pub call: CallKind,
    /// The room's name (room calls), or the user's (private messages).
    pub to: String,
    /// The mapped user's HipChat address (`@mention` or e-mail), for private messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The token's label, for calls sent as a user (room and private messages, files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The message: body, format, colour, notify, `from` label, card.
    pub message: RoomNotification,
    /// The shared file, for [`CallKind::File`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileNote>,
}

impl Accepted {
    /// A new accepted call with a fresh id.
    pub fn new(call: CallKind, to: &str, message: RoomNotification) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            call,
            to: to.to_owned(),
            address: None,
            sender: None,
            message,
            file: None,
        }
    }

    /// A call made as the token's user (room message, private message, file): `text` in
    /// `format`, sent by `sender`.
    pub fn by_user(
        call: CallKind,
        to: &str,
        text: String,
        format: MessageFormat,
        sender: &str,
    ) -> Self {
        let mut accepted = Self::new(call, to, RoomNotification::new(text).format(format));
        accepted.sender = Some(sender.to_owned());
        accepted
    }

    /// The body's format: HipChat's default is html for notifications, text otherwise.
    pub fn format(&self) -> MessageFormat {
        self.message.message_format.unwrap_or(match self.call {
            CallKind::Notification => MessageFormat::Html,
            _ => MessageFormat::Text,
        })
    }

    /// The colour (notifications are yellow unless they say otherwise).
    pub fn color(&self) -> Color {
        self.message.color.unwrap_or(Color::Yellow)
    }

    /// The author label shown: the `from` label, else the sending token's label.
    pub fn author(&self) -> Option<&str> {
        self.message
            .from
            .as_deref()
            .filter(|f| !f.is_empty())
            .or(self.sender.as_deref())
    }

    /// The text to show, a shared file named with its size when there is one (for
    /// destinations that do not take uploads).
    pub fn text(&self) -> String {
        match &self.file {
            Some(f) if self.message.message.is_empty() => {
                format!("shared a file: {} ({} bytes)", f.name, f.size)
            }
            Some(f) => format!(
                "{}\nshared a file: {} ({} bytes)",
                self.message.message, f.name, f.size
            ),
            None => self.message.message.clone(),
        }
    }
}
