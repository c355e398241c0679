//! HipChat room notifications translated for today's chat platforms: the request bodies a
//! courier posts to Slack, Mattermost, Rocket.Chat, Discord, Teams, Zulip or Matrix.
//!
//! Pure: no I/O. The bodies leave out what the destination's configuration supplies (Slack and
//! Mattermost channel overrides, Zulip stream and topic, the Matrix room id); couriers add it.

mod card;
mod colour;
mod markup;
mod platform;
mod render;
mod split;
mod targets;

pub use platform::{Platform, UnknownPlatform};

use serde::Deserialize;
use std::collections::BTreeMap;

/// What was posted to HipChat, platform-neutral: a room notification (`from`, `message`,
/// `message_format` html|text, `color`, `notify`, `card`), plus, for a shared file, the file.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The notification (or, for a shared file, its accompanying message).
    pub notification: &'a hipchat::RoomNotification,
    /// The shared file, when the HipChat call was a file share.
    pub file: Option<SharedFile<'a>>,
}

/// A file shared to a HipChat room; translations name it and its size (the courier uploads it
/// where the destination can take uploads).
#[derive(Debug, Clone, Copy)]
pub struct SharedFile<'a> {
    /// The file name as HipChat showed it.
    pub name: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Where the file can be downloaded, when known.
    pub url: Option<&'a str>,
}

/// Choices per destination (all off or empty by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Whether `notify = true` (or HipChat's own `@all` / `@here` in a `text` message) becomes
    /// the platform's mass mention (`<!here>`, `@here`, `@**all**`, `@room`); never unless set.
    /// Mass mentions typed in the text (`@all`, `@here`, `@channel`, `@everyone`, `@room`) are
    /// otherwise plain text.
    pub mass_mention: bool,
    /// Where HipChat's `from` label goes.
    pub author: AuthorLabel,
    /// Name to post as, where the platform lets a webhook choose one (Slack legacy webhooks,
    /// Mattermost, Rocket.Chat, Discord).
    pub username: Option<String>,
    /// Avatar URL to post with, where the platform lets a webhook choose one.
    pub icon_url: Option<String>,
    /// HipChat mention name (without `@`) → the platform's reference to that person: a Slack or
    /// Discord user id, a Mattermost or Rocket.Chat username, a Zulip full name, a Matrix user
    /// id, a Teams user id (AAD object id or UPN). Unmapped mentions stay `@name` text, except on
    /// Mattermost and Rocket.Chat, where `@name` is itself a mention.
    pub mentions: BTreeMap<String, String>,
}

/// Where HipChat's `from` label is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorLabel {
    /// The platform's own author field (attachment `author_name`, embed author, card header);
    /// a bold prefix where there is none (Zulip, Matrix).
    #[default]
    Native,
    /// A bold `from:` prefix in the message text, on every platform.
    Prefix,
    /// Not shown.
    Omit,
}

/// The platform's request bodies for `message`, in the order they must be posted: one per part
/// when the text is longer than the platform's limit (split at line or word boundaries, never
/// truncated, parts numbered `(1/2)`).
pub fn translate(
    platform: Platform,
    message: &Outgoing<'_>,
    options: &Options,
) -> Vec<serde_json::Value> {
    let content = targets::Content::new(message, options);
    match platform {
        Platform::Slack => targets::slack(&content),
        Platform::Mattermost => targets::mattermost(&content),
        Platform::RocketChat => targets::rocketchat(&content),
        Platform::Discord => targets::discord(&content),
        Platform::Teams => targets::teams(&content),
        Platform::Zulip => targets::zulip(&content),
        Platform::Matrix => targets::matrix(&content),
    }
}
