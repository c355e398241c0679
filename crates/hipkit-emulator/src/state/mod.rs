//! The emulator's in-memory world: rooms, users, tokens, history, webhooks and files.

use crate::config::EmulatorConfig;
use crate::error::EmuError;
use crate::faults::FaultRule;
use crate::limits::Limiter;
use bytes::Bytes;
use hipchat::{
    HistoryItem, Links, Privacy, Room, RoomRef, Scope, User, UserLink, UserRef, Webhook,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared state behind every handler.
#[derive(Clone)]
pub struct Shared {
    /// Absolute base URL (`http://127.0.0.1:8180`), used for `links`.
    pub base: Arc<str>,
    inner: Arc<Mutex<World>>,
    /// Request and flood limits.
    pub limiter: Arc<Limiter>,
}

/// A token the emulator accepts.
#[derive(Debug, Clone)]
pub struct TokenRec {
    /// Non-secret label used in logs and the request log.
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
    /// Owner id.
    pub owner: u64,
    /// Creation time.
    pub created: String,
    /// Messages in order.
    pub history: Vec<HistoryItem>,
    /// Webhooks by id.
    pub webhooks: BTreeMap<u64, Webhook>,
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
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
}

const REQUEST_LOG_CAP: usize = 200_000;

/// Everything the emulator knows.
#[derive(Default)]
pub struct World {
    /// Rooms by id.
    pub rooms: BTreeMap<u64, RoomRec>,
    /// Users by id.
    pub users: BTreeMap<u64, UserRec>,
    /// Tokens by raw value.
    pub tokens: HashMap<String, TokenRec>,
    /// Private chats keyed by the two user ids (smaller first).
    pub private: HashMap<(u64, u64), Vec<HistoryItem>>,
    /// Shared files by id.
    pub files: HashMap<String, StoredFile>,
    /// Active fault rules in order.
    pub faults: Vec<FaultRule>,
    /// Recent requests.
    pub requests: VecDeque<LoggedRequest>,
    next_room: u64,
    next_user: u64,
    next_webhook: u64,
}

/// The user every seeded token acts as.
pub const ADMIN_USER_ID: u64 = 1;

impl Shared {
    /// Builds the world from the config; returns it and the generated token, if any.
    pub fn new(config: &EmulatorConfig, base: String) -> Result<(Self, Option<String>), EmuError> {
        let mut world = World {
            next_room: 1,
            next_user: 1,
            next_webhook: 1,
            ..World::default()
        };
        world.add_user("HipKit Admin", "admin", "admin@hipkit.local", true)?;
        for email in &config.users {
            let local = email.split('@').next().unwrap_or(email);
            world.add_user(local, local, email, false)?;
        }
        for room in &config.rooms {
            world.add_room(room, Privacy::Public, "", false, ADMIN_USER_ID)?;
        }
        let mut generated = None;
        let specs = if config.tokens.is_empty() {
            let raw: String = std::iter::repeat_with(fastrand::alphanumeric)
                .take(40)
                .collect();
            generated = Some(raw.clone());
            vec![crate::config::TokenSpec::all_scopes(raw)]
        } else {
            config.tokens.clone()
        };
        for (i, spec) in specs.iter().enumerate() {
            world.add_token(
                spec.token.expose(),
                &format!("token-{}", i + 1),
                &spec.scopes,
            );
        }
        let shared = Self {
            base: base.into(),
            inner: Arc::new(Mutex::new(world)),
            limiter: Arc::new(Limiter::new(config.rate_limit, config.flood_limit)),
        };
        Ok((shared, generated))
    }

    /// Locks the world (a poisoned lock is recovered: the data stays consistent per call).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Absolute URL for an API path such as `room/1`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2/{}", self.base, path)
    }

    /// Links of a room.
    pub fn room_links(&self, id: u64) -> Links {
        Links {
            self_: Some(self.url(&format!("room/{id}"))),
            webhooks: Some(self.url(&format!("room/{id}/webhook"))),
            members: Some(self.url(&format!("room/{id}/member"))),
            participants: Some(self.url(&format!("room/{id}/participant"))),
            ..Links::default()
        }
    }

    /// The user reference embedded in messages and rooms.
    pub fn user_link(&self, u: &UserRec) -> UserLink {
        UserLink {
            id: u.id,
            mention_name: u.mention_name.clone(),
            name: u.name.clone(),
            links: Links {
                self_: Some(self.url(&format!("user/{}", u.id))),
                ..Links::default()
            },
            version: Some(version_tag(u.id)),
        }
    }

    /// The full room object.
    pub fn room_object(&self, world: &World, r: &RoomRec) -> Room {
        Room {
            id: r.id,
            name: r.name.clone(),
            links: self.room_links(r.id),
            privacy: r.privacy,
            is_archived: false,
            version: Some(version_tag(r.id)),
            topic: Some(r.topic.clone()),
            xmpp_jid: Some(format!("{}_{}@conf.hipkit.local", r.id, slug(&r.name))),
            is_guest_accessible: Some(r.guest_access),
            guest_access_url: None,
            created: Some(r.created.clone()),
            owner: world.users.get(&r.owner).map(|u| self.user_link(u)),
        }
    }

    /// The full user object.
    pub fn user_object(&self, u: &UserRec) -> User {
        let link = self.user_link(u);
        User {
            id: u.id,
            name: u.name.clone(),
            mention_name: u.mention_name.clone(),
            links: link.links,
            version: link.version,
            email: Some(u.email.clone()),
            title: Some(u.title.clone()),
            xmpp_jid: Some(format!("1_{}@chat.hipkit.local", u.id)),
            is_deleted: Some(false),
            is_group_admin: Some(u.is_group_admin),
            is_guest: Some(false),
            timezone: Some(u.timezone.clone()),
            created: Some(u.created.clone()),
            presence: None,
        }
    }
}

/// An eight-hex-digit version tag derived from an id.
pub fn version_tag(id: u64) -> String {
    format!("{:08X}", id.wrapping_mul(2_654_435_761) & 0xFFFF_FFFF)
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

impl World {
    /// Adds a token.
    pub fn add_token(&mut self, raw: &str, label: &str, scopes: &[Scope]) {
        self.tokens.insert(
            raw.to_owned(),
            TokenRec {
                label: label.to_owned(),
                scopes: scopes.to_vec(),
                user_id: ADMIN_USER_ID,
            },
        );
    }

    /// Adds a user; the email and mention name must be unique.
    pub fn add_user(
        &mut self,
        name: &str,
        mention: &str,
        email: &str,
        admin: bool,
    ) -> Result<u64, EmuError> {
        if self
            .users
            .values()
            .any(|u| u.email.eq_ignore_ascii_case(email))
        {
            return Err(EmuError::bad_request(format!(
                "A user with email {email} already exists"
            )));
        }
        if self
            .users
            .values()
            .any(|u| u.mention_name.eq_ignore_ascii_case(mention))
        {
            return Err(EmuError::bad_request(format!(
                "The mention name {mention} is already taken"
            )));
        }
        let id = self.next_user;
        self.next_user += 1;
        self.users.insert(
            id,
            UserRec {
                id,
                name: name.to_owned(),
                mention_name: mention.to_owned(),
                email: email.to_owned(),
                title: String::new(),
                is_group_admin: admin,
                timezone: "UTC".into(),
                created: hipchat::now_iso(),
            },
        );
        Ok(id)
    }

    /// Adds a room; names are unique (case-insensitively).
    pub fn add_room(
        &mut self,
        name: &str,
        privacy: Privacy,
        topic: &str,
        guest_access: bool,
        owner: u64,
    ) -> Result<u64, EmuError> {
        if self
            .rooms
            .values()
            .any(|r| r.name.eq_ignore_ascii_case(name))
        {
            return Err(EmuError::bad_request("Another room exists with that name."));
        }
        let id = self.next_room;
        self.next_room += 1;
        self.rooms.insert(
            id,
            RoomRec {
                id,
                name: name.to_owned(),
                topic: topic.to_owned(),
                privacy,
                guest_access,
                owner,
                created: hipchat::now_iso(),
                history: Vec::new(),
                webhooks: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    /// Finds a room by id or (case-insensitive) name.
    pub fn room_id(&self, room: &RoomRef) -> Result<u64, EmuError> {
        let found = match room {
            RoomRef::Id(id) => self.rooms.get(id).map(|r| r.id),
            RoomRef::Name(name) => self
                .rooms
                .values()
                .find(|r| r.name.eq_ignore_ascii_case(name))
                .map(|r| r.id),
        };
        found.ok_or_else(|| EmuError::not_found("Room not found"))
    }

    /// The room for a path segment.
    pub fn room_mut(&mut self, room: &RoomRef) -> Result<&mut RoomRec, EmuError> {
        let id = self.room_id(room)?;
        self.rooms
            .get_mut(&id)
            .ok_or_else(|| EmuError::not_found("Room not found"))
    }

    /// Finds a user by id, email or mention name.
    pub fn user_id(&self, user: &UserRef) -> Result<u64, EmuError> {
        let found = match user {
            UserRef::Id(id) => self.users.get(id).map(|u| u.id),
            UserRef::Email(email) => self
                .users
                .values()
                .find(|u| u.email.eq_ignore_ascii_case(email))
                .map(|u| u.id),
            UserRef::Mention(m) => self
                .users
                .values()
                .find(|u| u.mention_name.eq_ignore_ascii_case(m))
                .map(|u| u.id),
        };
        found.ok_or_else(|| EmuError::not_found("User not found"))
    }

    /// Next webhook id.
    pub fn next_webhook_id(&mut self) -> u64 {
        let id = self.next_webhook;
        self.next_webhook += 1;
        id
    }

    /// The private chat between two users.
    pub fn private_chat(&mut self, a: u64, b: u64) -> &mut Vec<HistoryItem> {
        self.private.entry((a.min(b), a.max(b))).or_default()
    }

    /// Records a request, keeping only the most recent ones.
    pub fn log_request(&mut self, entry: LoggedRequest) {
        if self.requests.len() >= REQUEST_LOG_CAP {
            self.requests.pop_front();
        }
        self.requests.push_back(entry);
    }

    /// Drops all messages, files and the request log (rooms, users and tokens stay).
    pub fn clear_messages(&mut self) {
        for room in self.rooms.values_mut() {
            room.history.clear();
        }
        self.private.clear();
        self.files.clear();
        self.requests.clear();
    }
}
