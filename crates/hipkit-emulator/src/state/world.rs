//! Everything the emulator knows. Fields are private: each change is a method that commits
//! it and then publishes its event while the world is still locked, so events arrive in
//! commit order.

use super::records::{
    History, LoggedRequest, NewRoom, NewUser, RoomRec, StoredFile, TokenRec, UserRec,
};
use crate::config::EmulatorConfig;
use crate::events::{EmulatorEvent, Events, Recipient, RoomInfo};
use crate::faults::{FaultAction, FaultRule};
use crate::webhooks::{Hooks, Queued};
use hipchat::{HistoryItem, RoomRef, Scope, UserRef, Webhook, WebhookEvent};
use hipkit_server::ApiError;
use std::collections::{BTreeMap, HashMap, VecDeque};
use tokio::sync::mpsc::UnboundedSender;

const REQUEST_LOG_CAP: usize = 200_000;

/// The user every seeded token acts as.
pub const ADMIN_USER_ID: u64 = 1;

/// Rooms, users, tokens, history, files, fault rules and the request log.
pub struct World {
    rooms: BTreeMap<u64, RoomRec>,
    users: BTreeMap<u64, UserRec>,
    /// Tokens by raw value.
    tokens: HashMap<String, TokenRec>,
    /// Private chats keyed by the two user ids (smaller first), each capped by retention.
    private: HashMap<(u64, u64), History>,
    files: HashMap<String, StoredFile>,
    faults: Vec<FaultRule>,
    requests: VecDeque<LoggedRequest>,
    next_room: u64,
    next_user: u64,
    next_webhook: u64,
    /// Messages kept per room.
    retention: usize,
    /// Webhooks one room, and all rooms, may have.
    webhook_caps: (usize, usize),
    hooks: Hooks,
    events: Events,
}

fn room_info(r: &RoomRec) -> RoomInfo {
    RoomInfo {
        id: r.id,
        name: r.name.clone(),
    }
}

/// Refuses a room name or user email that a path cannot name: `.` and `..` are dot
/// segments a URL normalises away (`/v2/room/../notification` is `/v2/notification`), and
/// only digits read as an id. Everything else percent-encodes into one segment (`/` as `%2F`).
fn addressable(what: &str, name: &str) -> Result<(), ApiError> {
    let problem = match name {
        "" => "is empty",
        "." | ".." => "is a dot segment that URL paths normalise away",
        _ if name.bytes().all(|b| b.is_ascii_digit()) => {
            "is only digits, which paths read as an id"
        }
        _ => return Ok(()),
    };
    Err(ApiError::bad_request(format!(
        "{what} `{name}` cannot be used: it {problem}"
    )))
}

/// The id of the shared file a message points at (`.../_emulator/files/{id}/{name}`).
fn file_id(item: &HistoryItem) -> Option<&str> {
    let url = &item.file.as_ref()?.url;
    let (_, rest) = url.split_once("/_emulator/files/")?;
    rest.split('/').next()
}

fn chat_key(a: u64, b: u64) -> (u64, u64) {
    (a.min(b), a.max(b))
}

impl World {
    /// An empty world publishing to `events`, with the config's retention and webhook caps.
    pub fn new(events: Events, config: &EmulatorConfig) -> Self {
        Self {
            rooms: BTreeMap::new(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            private: HashMap::new(),
            files: HashMap::new(),
            faults: Vec::new(),
            requests: VecDeque::new(),
            next_room: 1,
            next_user: 1,
            next_webhook: 1,
            retention: config.retention,
            webhook_caps: (config.max_webhooks_per_room, config.max_webhooks),
            hooks: Hooks::default(),
            events,
        }
    }

    // ---- reads ----

    /// The token record for a raw token.
    pub fn token(&self, raw: &str) -> Option<&TokenRec> {
        self.tokens.get(raw)
    }

    /// Every room, by id.
    pub fn rooms(&self) -> impl Iterator<Item = &RoomRec> {
        self.rooms.values()
    }

    /// Finds a room by id or (case-insensitive) name.
    pub fn room(&self, room: &RoomRef) -> Result<&RoomRec, ApiError> {
        let found = match room {
            RoomRef::Id(id) => self.rooms.get(id),
            RoomRef::Name(name) => self
                .rooms
                .values()
                .find(|r| r.name.eq_ignore_ascii_case(name)),
        };
        found.ok_or_else(|| ApiError::not_found("Room not found"))
    }

    /// Every user, by id.
    pub fn users(&self) -> impl Iterator<Item = &UserRec> {
        self.users.values()
    }

    /// A user by id.
    pub fn user(&self, id: u64) -> Option<&UserRec> {
        self.users.get(&id)
    }

    /// Finds a user by id, email or mention name.
    pub fn find_user(&self, user: &UserRef) -> Result<&UserRec, ApiError> {
        let found = match user {
            UserRef::Id(id) => self.users.get(id),
            UserRef::Email(email) => self
                .users
                .values()
                .find(|u| u.email.eq_ignore_ascii_case(email)),
            UserRef::Mention(m) => self
                .users
                .values()
                .find(|u| u.mention_name.eq_ignore_ascii_case(m)),
        };
        found.ok_or_else(|| ApiError::not_found("User not found"))
    }

    /// The private chat between two users, oldest first.
    pub fn private_chat(&self, a: u64, b: u64) -> impl Iterator<Item = &HistoryItem> {
        self.private
            .get(&chat_key(a, b))
            .into_iter()
            .flat_map(History::iter)
    }

    /// A shared file by id.
    pub fn file(&self, id: &str) -> Option<&StoredFile> {
        self.files.get(id)
    }

    /// Active fault rules in order.
    pub fn faults(&self) -> &[FaultRule] {
        &self.faults
    }

    /// Recent requests, oldest first.
    pub fn requests(&self) -> impl Iterator<Item = &LoggedRequest> {
        self.requests.iter()
    }

    // ---- changes ----

    fn room_entry(&mut self, id: u64) -> Result<&mut RoomRec, ApiError> {
        self.rooms
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("Room not found"))
    }

    /// Adds (or replaces) a token acting as the admin user.
    pub fn add_token(&mut self, raw: &str, label: &str, scopes: &[Scope]) {
        self.tokens.insert(
            raw.to_owned(),
            TokenRec {
                label: label.to_owned(),
                scopes: scopes.to_vec(),
                user_id: ADMIN_USER_ID,
            },
        );
        self.events.publish(EmulatorEvent::TokenAdded {
            label: label.to_owned(),
            scopes: scopes.to_vec(),
        });
    }

    /// Adds a user; the email must be addressable in a path, and it and the mention name
    /// unique.
    pub fn add_user(&mut self, new: NewUser<'_>) -> Result<u64, ApiError> {
        addressable("User email", new.email)?;
        if self
            .users
            .values()
            .any(|u| u.email.eq_ignore_ascii_case(new.email))
        {
            return Err(ApiError::bad_request(format!(
                "A user with email {} already exists",
                new.email
            )));
        }
        if self
            .users
            .values()
            .any(|u| u.mention_name.eq_ignore_ascii_case(new.mention))
        {
            return Err(ApiError::bad_request(format!(
                "The mention name {} is already taken",
                new.mention
            )));
        }
        let id = self.next_user;
        self.next_user += 1;
        self.users.insert(
            id,
            UserRec {
                id,
                name: new.name.to_owned(),
                mention_name: new.mention.to_owned(),
                email: new.email.to_owned(),
                title: new.title.to_owned(),
                is_group_admin: new.admin,
                timezone: new.timezone.to_owned(),
                created: hipchat::now_iso(),
            },
        );
        self.events.publish(EmulatorEvent::UserCreated {
            id,
            name: new.name.to_owned(),
            mention_name: new.mention.to_owned(),
        });
        Ok(id)
    }

    /// Adds a room; names are addressable in a path and unique (case-insensitively).
    pub fn add_room(&mut self, new: NewRoom<'_>) -> Result<u64, ApiError> {
        addressable("Room name", new.name)?;
        if self
            .rooms
            .values()
            .any(|r| r.name.eq_ignore_ascii_case(new.name))
        {
            return Err(ApiError::bad_request("Another room exists with that name."));
        }
        let id = self.next_room;
        self.next_room += 1;
        let rec = RoomRec {
            id,
            name: new.name.to_owned(),
            topic: new.topic.to_owned(),
            privacy: new.privacy,
            guest_access: new.guest_access,
            owner: new.owner,
            created: hipchat::now_iso(),
            history: History::new(self.retention),
            webhooks: BTreeMap::new(),
        };
        let event = EmulatorEvent::RoomCreated {
            room: room_info(&rec),
            privacy: rec.privacy,
            owner: rec.owner,
        };
        self.rooms.insert(id, rec);
        self.events.publish(event);
        Ok(id)
    }

    /// Sets a room's topic.
    pub fn set_topic(&mut self, room: &RoomRef, topic: &str) -> Result<(), ApiError> {
        let id = self.room(room)?.id;
        let rec = self
            .rooms
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("Room not found"))?;
        topic.clone_into(&mut rec.topic);
        Ok(())
    }

    /// Deletes a room with its history and webhooks.
    pub fn delete_room(&mut self, room: &RoomRef) -> Result<(), ApiError> {
        let id = self.room(room)?.id;
        let mut rec = self
            .rooms
            .remove(&id)
            .ok_or_else(|| ApiError::not_found("Room not found"))?;
        for webhook_id in rec.webhooks.keys() {
            self.hooks.remove(*webhook_id);
        }
        self.forget_files(&rec.history.clear());
        self.events.publish(EmulatorEvent::RoomDeleted {
            room: room_info(&rec),
        });
        Ok(())
    }

    /// Appends a notification to room `id`'s history and fires matching
    /// `room_notification` webhooks.
    pub fn post_notification(&mut self, id: u64, item: HistoryItem) -> Result<(), ApiError> {
        self.post_to_room(id, item, Some(WebhookEvent::RoomNotification))
    }

    /// Appends a user's message to room `id`'s history and fires matching `room_message`
    /// webhooks.
    pub fn post_room_message(&mut self, id: u64, item: HistoryItem) -> Result<(), ApiError> {
        self.post_to_room(id, item, Some(WebhookEvent::RoomMessage))
    }

    /// Appends a webhook's reply (a notification) to room `id`'s history. It fires no
    /// webhook, so an integration answering its own pattern cannot loop.
    pub fn post_reply(&mut self, id: u64, item: HistoryItem) -> Result<(), ApiError> {
        self.post_to_room(id, item, None)
    }

    /// `fires` is the webhook event the item fires; `None` posts a reply as a notification.
    fn post_to_room(
        &mut self,
        id: u64,
        item: HistoryItem,
        fires: Option<WebhookEvent>,
    ) -> Result<(), ApiError> {
        let room = self
            .rooms
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("Room not found"))?;
        let dropped = room.history.push(item.clone());
        let info = room_info(room);
        if let Some(event) = fires {
            self.hooks
                .offer((id, &room.name), room.webhooks.values(), event, &item);
        }
        self.forget_files(&dropped);
        let event = match fires {
            Some(WebhookEvent::RoomMessage) => EmulatorEvent::RoomMessage { room: info, item },
            _ => EmulatorEvent::RoomNotification { room: info, item },
        };
        self.events.publish(event);
        Ok(())
    }

    /// Sends webhook calls to `queue` from now on, at most `capacity` waiting or in flight.
    pub fn attach_firing(&mut self, queue: UnboundedSender<Queued>, capacity: usize) {
        self.hooks.attach(queue, capacity);
    }

    /// Records a webhook call: a request-log line and its event.
    pub fn record_firing(&mut self, entry: LoggedRequest, event: EmulatorEvent) {
        self.log_request(entry);
        self.events.publish(event);
    }

    /// Appends a private message from `from` to `to`.
    pub fn post_private(&mut self, from: u64, to: u64, item: HistoryItem) {
        self.push_private(from, to, item.clone());
        self.events
            .publish(EmulatorEvent::PrivateMessage { from, to, item });
    }

    /// Stores a file as `file_id` and posts `item` (which points at it) to `recipient`.
    pub fn share_file(
        &mut self,
        recipient: FileTarget,
        file_id: String,
        file: StoredFile,
        item: HistoryItem,
    ) -> Result<(), ApiError> {
        let recipient = match recipient {
            FileTarget::Room(id) => {
                let room = self.room_entry(id)?;
                let dropped = room.history.push(item.clone());
                let info = room_info(room);
                self.forget_files(&dropped);
                Recipient::Room(info)
            }
            FileTarget::User { from, to } => {
                self.push_private(from, to, item.clone());
                Recipient::User { from, to }
            }
        };
        self.files.insert(file_id, file);
        self.events
            .publish(EmulatorEvent::FileShared { recipient, item });
        Ok(())
    }

    /// Appends to a private chat (capped by retention), forgetting the files of dropped messages.
    fn push_private(&mut self, from: u64, to: u64, item: HistoryItem) {
        let retention = self.retention;
        let dropped = self
            .private
            .entry(chat_key(from, to))
            .or_insert_with(|| History::new(retention))
            .push(item);
        self.forget_files(&dropped);
    }

    /// Drops the shared files that `gone` (messages no longer kept) point at.
    fn forget_files(&mut self, gone: &[HistoryItem]) {
        for id in gone.iter().filter_map(file_id) {
            self.files.remove(id);
        }
    }

    /// Registers a webhook on a room; `build` makes it from its new id and the room id.
    pub fn register_webhook(
        &mut self,
        room: &RoomRef,
        build: impl FnOnce(u64, u64) -> Webhook,
    ) -> Result<Webhook, ApiError> {
        let rec = self.room(room)?;
        let room_id = rec.id;
        let (per_room, total) = self.webhook_caps;
        if rec.webhooks.len() >= per_room {
            return Err(ApiError::bad_request(format!(
                "This room already has {per_room} webhooks, the most one room may have \
                 (`max_webhooks_per_room` in [emulator])"
            )));
        }
        if self.hooks.len() >= total {
            return Err(ApiError::bad_request(format!(
                "The emulator already has {total} webhooks, the most it holds \
                 (`max_webhooks` in [emulator])"
            )));
        }
        let id = self.next_webhook;
        let hook = build(id, room_id);
        let pattern = Hooks::compile(hook.pattern.as_deref())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.hooks.insert(id, pattern);
        let rec = self.room_entry(room_id)?;
        rec.webhooks.insert(id, hook.clone());
        let info = room_info(rec);
        self.next_webhook += 1;
        self.events.publish(EmulatorEvent::WebhookRegistered {
            room: info,
            webhook: hook.clone(),
        });
        Ok(hook)
    }

    /// Removes a webhook from a room.
    pub fn delete_webhook(&mut self, room: &RoomRef, webhook_id: u64) -> Result<(), ApiError> {
        let room_id = self.room(room)?.id;
        let rec = self.room_entry(room_id)?;
        rec.webhooks
            .remove(&webhook_id)
            .ok_or_else(|| ApiError::not_found("Webhook not found"))?;
        let info = room_info(rec);
        self.hooks.remove(webhook_id);
        self.events.publish(EmulatorEvent::WebhookDeleted {
            room: info,
            webhook_id,
        });
        Ok(())
    }

    /// Adds a fault rule with the next free id and returns it as stored.
    pub fn add_fault(&mut self, mut rule: FaultRule) -> FaultRule {
        rule.id = self.faults.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        self.faults.push(rule.clone());
        self.events
            .publish(EmulatorEvent::FaultAdded { rule: rule.clone() });
        rule
    }

    /// Removes every fault rule.
    pub fn clear_faults(&mut self) {
        let removed = self.faults.len();
        self.faults.clear();
        self.events
            .publish(EmulatorEvent::FaultsCleared { removed });
    }

    /// Takes the first matching rule's action, counting it down and removing spent rules.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let hit = crate::faults::take_fault(&mut self.faults, method, path)?;
        self.events.publish(EmulatorEvent::FaultHit {
            rule_id: hit.rule_id,
            method: method.to_owned(),
            path: path.to_owned(),
            action: hit.action.clone(),
            remaining: hit.remaining,
        });
        Some(hit.action)
    }

    /// Records a request, keeping only the most recent ones (no event: the log is its own feed).
    pub fn log_request(&mut self, entry: LoggedRequest) {
        if self.requests.len() >= REQUEST_LOG_CAP {
            self.requests.pop_front();
        }
        self.requests.push_back(entry);
    }

    /// Drops all messages, files and the request log (rooms, users and tokens stay).
    pub fn reset(&mut self) {
        for room in self.rooms.values_mut() {
            room.history.clear();
        }
        self.private.clear();
        self.files.clear();
        self.requests.clear();
        self.events.publish(EmulatorEvent::WorldReset);
    }
}

/// What the emulator holds, for `GET /_emulator/stats`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    /// Rooms.
    pub rooms: usize,
    /// Messages kept in all rooms.
    pub room_messages: usize,
    /// Private chats.
    pub private_chats: usize,
    /// Messages kept in all private chats.
    pub private_messages: usize,
    /// Shared files kept.
    pub files: usize,
    /// Their bytes.
    pub file_bytes: usize,
    /// Webhooks registered, in all rooms.
    pub webhooks: usize,
    /// Webhook calls dropped because the firing queue was full.
    pub webhook_calls_dropped: u64,
}

/// What the web UI and the control API's wait need beyond the HipChat API.
impl World {
    /// Counts of what the world holds.
    pub fn stats(&self) -> Stats {
        Stats {
            rooms: self.rooms.len(),
            room_messages: self.rooms.values().map(|r| r.history.len()).sum(),
            private_chats: self.private.len(),
            private_messages: self.private.values().map(|h| h.len()).sum(),
            files: self.files.len(),
            file_bytes: self.files.values().map(|f| f.data.len()).sum(),
            webhooks: self.hooks.len(),
            webhook_calls_dropped: self.hooks.dropped(),
        }
    }

    /// Messages kept per room before the oldest are dropped.
    pub fn retention(&self) -> usize {
        self.retention
    }

    /// Every token's label and scopes, by label (never the token value).
    pub fn token_labels(&self) -> Vec<(String, Vec<Scope>)> {
        let mut out: Vec<_> = self
            .tokens
            .values()
            .map(|t| (t.label.clone(), t.scopes.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Whether a token with this label exists.
    pub fn has_token_label(&self, label: &str) -> bool {
        self.tokens.values().any(|t| t.label == label)
    }

    /// Every private chat: the two user ids (smaller first) and its messages, oldest first.
    pub fn private_chats(&self) -> impl Iterator<Item = ((u64, u64), &History)> {
        self.private.iter().map(|(k, v)| (*k, v))
    }

    /// Removes every message of a room; returns how many there were.
    pub fn clear_room(&mut self, room: &RoomRef) -> Result<usize, ApiError> {
        let id = self.room(room)?.id;
        let rec = self.room_entry(id)?;
        let gone = rec.history.clear();
        let removed = gone.len();
        let info = room_info(rec);
        self.forget_files(&gone);
        self.events.publish(EmulatorEvent::RoomCleared {
            room: info,
            removed,
        });
        Ok(removed)
    }

    /// Removes one message from a room's history (404 for an unknown room or message).
    pub fn delete_message(&mut self, room: &RoomRef, message_id: &str) -> Result<(), ApiError> {
        let id = self.room(room)?.id;
        let rec = self.room_entry(id)?;
        let Some(gone) = rec.history.remove(message_id) else {
            return Err(ApiError::not_found("Message not found"));
        };
        let info = room_info(rec);
        self.forget_files(&[gone]);
        self.events.publish(EmulatorEvent::MessageDeleted {
            room: info,
            message_id: message_id.to_owned(),
        });
        Ok(())
    }
}

/// Where a shared file goes: a room by id, or a private chat.
#[derive(Debug, Clone, Copy)]
pub enum FileTarget {
    /// Room id.
    Room(u64),
    /// From one user to another.
    User {
        /// Sender's user id.
        from: u64,
        /// Recipient's user id.
        to: u64,
    },
}
