//! What the world stores: tokens, rooms, users, shared files and request-log lines. Handlers
//! see these through shared references only; every change goes through `World`.

use bytes::Bytes;
use hipchat::{HistoryItem, Privacy, Scope, Webhook};
use std::collections::{BTreeMap, VecDeque};

/// A token the emulator accepts.
#[derive(Debug, Clone)]
pub struct TokenRec {
    /// Non-secret label used in logs, events and the request log.
    pub label: String,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// The user the token acts as.
    pub user_id: u64,
}

/// A stored room.
#[derive(Debug, Clone)]
pub struct RoomRec {
    /// Room id.
    pub id: u64,
    /// Room name.
    pub name: String,
    /// Topic.
    pub topic: String,
    /// Privacy.
    pub privacy: Privacy,
    /// Guest access.
    pub guest_access: bool,
    /// Owner's user id.
    pub owner: u64,
    /// Creation time.
    pub created: String,
    /// Messages, oldest first, at most the world's retention.
    pub history: History,
    /// Webhooks by id.
    pub webhooks: BTreeMap<u64, Webhook>,
}

/// A room's messages, oldest first; pushing past the retention cap drops the oldest (as
/// Mailpit prunes), so a long-running emulator's memory stays bounded.
#[derive(Debug, Clone)]
pub struct History {
    items: VecDeque<HistoryItem>,
    cap: usize,
    /// Messages ever pushed, dropped ones included (HipChat's `messages_sent`).
    pushed: u64,
}

impl History {
    /// An empty history keeping at most `cap` messages (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            items: VecDeque::new(),
            cap: cap.max(1),
            pushed: 0,
        }
    }

    /// Appends a message, dropping the oldest when the cap is reached; returns the dropped
    /// ones (so the files they point at can go too).
    pub fn push(&mut self, item: HistoryItem) -> Vec<HistoryItem> {
        let mut dropped = Vec::new();
        while self.items.len() >= self.cap {
            dropped.extend(self.items.pop_front());
        }
        self.items.push_back(item);
        self.pushed += 1;
        dropped
    }

    /// How many messages were ever posted, including those retention dropped.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// How many messages are kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The newest message.
    pub fn last(&self) -> Option<&HistoryItem> {
        self.items.back()
    }

    /// Messages, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &HistoryItem> + ExactSizeIterator {
        self.items.iter()
    }

    /// A copy of every message, oldest first.
    pub fn to_vec(&self) -> Vec<HistoryItem> {
        self.items.iter().cloned().collect()
    }

    /// Removes every message; returns them.
    pub fn clear(&mut self) -> Vec<HistoryItem> {
        self.items.drain(..).collect()
    }

    /// Removes the message with this id; returns it if it was there.
    pub fn remove(&mut self, id: &str) -> Option<HistoryItem> {
        let pos = self.items.iter().position(|m| m.id == id)?;
        self.items.remove(pos)
    }
}

/// What a new room starts with.
#[derive(Debug, Clone)]
pub struct NewRoom<'a> {
    /// Name, unique case-insensitively.
    pub name: &'a str,
    /// Privacy.
    pub privacy: Privacy,
    /// Topic (may be empty).
    pub topic: &'a str,
    /// Guest access.
    pub guest_access: bool,
    /// Owner's user id.
    pub owner: u64,
}

/// A stored user.
#[derive(Debug, Clone)]
pub struct UserRec {
    /// User id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Mention name.
    pub mention_name: String,
    /// Email.
    pub email: String,
    /// Title.
    pub title: String,
    /// Group admin.
    pub is_group_admin: bool,
    /// Time zone.
    pub timezone: String,
    /// Creation time.
    pub created: String,
}

/// What a new user starts with.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Display name.
    pub name: &'a str,
    /// Mention name, unique case-insensitively.
    pub mention: &'a str,
    /// Email, unique case-insensitively.
    pub email: &'a str,
    /// Group admin.
    pub admin: bool,
    /// Title (may be empty).
    pub title: &'a str,
    /// Time zone name.
    pub timezone: &'a str,
}

impl<'a> NewUser<'a> {
    /// A user with no title in UTC.
    pub fn plain(name: &'a str, mention: &'a str, email: &'a str, admin: bool) -> Self {
        Self {
            name,
            mention,
            email,
            admin,
            title: "",
            timezone: "UTC",
        }
    }
}

/// A shared file, kept in memory and served under `/_emulator/files/`.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// File name as uploaded.
    pub name: String,
    /// MIME type as uploaded.
    pub content_type: String,
    /// Content.
    pub data: Bytes,
}

/// One line of the request log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedRequest {
    /// Unix time in milliseconds when the request arrived.
    pub at_ms: u64,
    /// Method.
    pub method: String,
    /// Path (query string excluded: it may hold `auth_token`).
    pub path: String,
    /// Label of the token used, if any (never the token).
    pub token: Option<String>,
    /// Status answered (0 when the connection was dropped, or a webhook call got no answer).
    pub status: u16,
    /// A webhook call the emulator made (`path` is then the URL, `token` the webhook's name).
    pub outgoing: bool,
}
