//! The emulator's in-memory world and the handle every handler shares: rooms, users,
//! tokens, history, webhooks and files, plus the event channel and the limiter.

mod records;
mod token;
mod world;

pub use records::{LoggedRequest, NewRoom, NewUser, RoomRec, StoredFile, UserRec};
pub use token::{RandomSourceError, random_token};
pub use world::{ADMIN_USER_ID, FileTarget, Stats, World};

use crate::config::{EmulatorConfig, TokenSpec};
use crate::events::{EmulatorEvent, Events};
use crate::limits::Limiter;
use hipchat::{Links, Privacy, Room, User, UserLink};
use hipkit_server::ApiError;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, watch};

/// Shared state behind every handler.
#[derive(Clone)]
pub struct Shared {
    /// Absolute base URL (`http://127.0.0.1:8180`), used for `links`.
    pub base: Arc<str>,
    inner: Arc<Mutex<World>>,
    events: Events,
    /// Request and flood limits.
    pub limiter: Arc<Limiter>,
    /// Set when shutdown begins, so endless answers (the UI's event stream) end.
    closing: Arc<watch::Sender<bool>>,
}

impl Shared {
    /// Builds the world from the config; returns it and the generated token, if any.
    pub fn new(config: &EmulatorConfig, base: String) -> Result<(Self, Option<String>), ApiError> {
        let events = Events::new(config.event_capacity);
        let mut world = World::new(events.clone(), config);
        world.add_user(NewUser::plain(
            "HipKit Admin",
            "admin",
            "admin@hipkit.local",
            true,
        ))?;
        for email in &config.users {
            let local = email.split('@').next().unwrap_or(email);
            world.add_user(NewUser::plain(local, local, email, false))?;
        }
        for room in &config.rooms {
            world.add_room(NewRoom {
                name: room,
                privacy: Privacy::Public,
                topic: "",
                guest_access: false,
                owner: ADMIN_USER_ID,
            })?;
        }
        let mut generated = None;
        let specs = if config.tokens.is_empty() {
            let raw = random_token()?;
            generated = Some(raw.clone());
            vec![TokenSpec::all_scopes(raw)]
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
            events,
            limiter: Arc::new(Limiter::new(config.rate_limit, config.flood_limit)),
            closing: Arc::new(watch::channel(false).0),
        };
        Ok((shared, generated))
    }

    /// Locks the world (a poisoned lock is recovered: each change is complete per call).
    /// Never hold the guard across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EmulatorEvent> {
        self.events.subscribe()
    }

    /// Tells endless answers to end: shutdown has begun.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once shutdown has begun.
    pub async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        // An error means the sender is gone, which only happens once everything is.
        let _ = rx.wait_for(|closing| *closing).await;
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
            xmpp_jid: Some(room_jid(r)),
            is_guest_accessible: Some(r.guest_access),
            guest_access_url: None,
            created: Some(r.created.clone()),
            owner: world.user(r.owner).map(|u| self.user_link(u)),
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

/// A room's XMPP address.
pub fn room_jid(r: &RoomRec) -> String {
    format!("{}_{}@conf.hipkit.local", r.id, slug(&r.name))
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
