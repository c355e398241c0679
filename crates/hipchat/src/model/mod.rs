//! The HipChat API v2 vocabulary: one definition used by the client and the emulator.

mod enums;
mod history;
mod message;
mod notification;
mod page;
mod room;
mod user;
mod v1;
mod webhook;

pub use enums::{Color, MessageFormat, Scope};
pub use history::{FileInfo, HistoryFrom, HistoryItem, MessageType, UserLink};
pub use message::{PrivateMessage, RoomMessage, RoomMessageCreated};
pub use notification::{
    Card, CardDescription, CardStyle, CardThumbnail, RoomNotification, bool_or_string,
};
pub use page::{Links, Page};
pub use room::{CreateRoom, Created, Privacy, Room, RoomStatistics, SetTopic};
pub use user::{CreateUser, User};
pub use v1::{V1_FROM_MAX, V1_MESSAGE_MAX, V1RoomMessage, v1_format_is_json};
pub use webhook::{
    CreateWebhook, RoomMessagePayload, Webhook, WebhookEvent, WebhookItem, WebhookRoom,
};

/// Current time as HipChat formats dates: ISO-8601 with microseconds and `+00:00`.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}
