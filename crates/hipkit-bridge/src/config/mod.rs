//! `[bridge]`: the listener, the tokens HipChat callers present, the rooms and users they
//! address, and the destinations each room's messages go to. [`BridgeConfig::check`] turns
//! it into the [`Directory`](crate::Directory) the intake answers from and the
//! [`Destinations`](crate::deliver::Destinations) the couriers deliver through.

mod destination;

pub use destination::{DestinationConfig, KindConfig};
pub use hipchat::{SecretError, SecretSource};

use hipchat::Scope;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// `[bridge]`: off unless it sets `listen`, a room or a destination. Shown by `hipkit config`
/// without its tokens, and each destination without its kind's keys (URLs and keys are
/// secrets).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeConfig {
    /// The bridge's own listener (HipChat's API); default 127.0.0.1:8280.
    pub listen: Option<SocketAddr>,
    /// The base URL callers reach the bridge at, for the links in room answers (behind a TLS
    /// proxy: HypChat maps a room's `links.self` to an object only for `https://` links); the
    /// listener's own `http://` URL when absent.
    pub public_url: Option<String>,
    /// Serve HTTPS with a self-signed certificate (loopback tests of clients that need
    /// `https://` links); put a real TLS proxy in front otherwise.
    pub tls: bool,
    /// The largest share-file request accepted, in bytes (HipChat's 413 beyond); HipChat's
    /// own limit, 50 MiB, when absent. The file is stored with each parcel of a destination
    /// that takes uploads, so a smaller cap bounds the outbox's growth.
    pub max_file_bytes: Option<usize>,
    /// The tokens callers present (HipChat's scopes, optionally limited to rooms).
    #[serde(skip_serializing)]
    pub tokens: Vec<TokenConfig>,
    /// `[[bridge.rooms]]`: the rooms callers address, and where each one's messages go.
    pub rooms: Vec<RoomConfig>,
    /// `[[bridge.users]]`: the users private messages may be sent to, and where they go.
    pub users: Vec<UserConfig>,
    /// `[[bridge.destinations]]`: the chat systems messages are delivered to.
    pub destinations: Vec<DestinationConfig>,
}

/// A token HipChat callers present (Bearer header or `auth_token`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The token: inline, `{ env = "NAME" }` or `{ file = "path" }`.
    pub token: SecretSource,
    /// HipChat's scopes it grants (`send_notification`, `send_message`, `view_room`, ...).
    pub scopes: Vec<Scope>,
    /// The rooms (names or ids) it may post to, as HipChat's room tokens; all when absent.
    #[serde(default)]
    pub rooms: Option<Vec<String>>,
    /// A name for logs and as the sender of its room and private messages (`token-N` else).
    #[serde(default)]
    pub label: Option<String>,
}

/// `[[bridge.rooms]]`: a room old tools address by name or id.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// The name the old tool uses.
    pub name: String,
    /// A stable id; derived from the name (and so kept across restarts) when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// The destinations (by name) its messages go to.
    pub to: Vec<String>,
    /// The topic room lookups answer.
    #[serde(default)]
    pub topic: Option<String>,
    /// The Slack and Mattermost channels (`slack:CHANNEL_ID`, `mattermost:CHANNEL_ID`) whose
    /// slash commands the integrations served beside the bridge take as typed in this room.
    #[serde(default)]
    pub channels: Vec<String>,
}

/// `[[bridge.users]]`: a user private messages (`POST /v2/user/{user}/message`) may be sent
/// to, addressed as HipChat allowed: id, `@mention_name` or e-mail.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The user's display name.
    pub name: String,
    /// `@`-name without the `@`.
    #[serde(default)]
    pub mention_name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// A stable id; derived from the name when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// The destinations (by name) their private messages go to (a DM webhook, a Matrix DM
    /// room).
    pub to: Vec<String>,
}

/// Why `[bridge]` is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A destination's secret cannot be read.
    #[error("[[bridge.destinations]] `{name}`: {source}")]
    Secret {
        /// The destination.
        name: String,
        /// Why.
        #[source]
        source: SecretError,
    },
    /// A caller token's secret cannot be read.
    #[error(transparent)]
    Token(SecretError),
    /// Two entries share a name or id.
    #[error("[bridge] {what} `{name}` is configured twice")]
    Duplicate {
        /// `room`, `room id`, `user`, `destination`.
        what: &'static str,
        /// The name or id.
        name: String,
    },
    /// A room or user sends to a destination nobody configured.
    #[error(
        "[bridge] {what} `{name}` sends to `{to}`, which is not a [[bridge.destinations]] name"
    )]
    UnknownDestination {
        /// `room` or `user`.
        what: &'static str,
        /// Its name.
        name: String,
        /// The missing destination.
        to: String,
    },
    /// A token lists a room that is not configured.
    #[error(
        "[bridge] tokens[{index}] lists room `{room}`, which is not a [[bridge.rooms]] name or id"
    )]
    UnknownRoom {
        /// The token's position (0-based).
        index: usize,
        /// The room as written.
        room: String,
    },
    /// A destination's settings are wrong.
    #[error("[[bridge.destinations]] `{name}`: {message}")]
    Destination {
        /// The destination.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No tokens: nobody could call the bridge.
    #[error(
        "[bridge] has no tokens: add tokens = [{{ token = ..., scopes = [\"send_notification\"] }}]"
    )]
    NoTokens,
}

impl BridgeConfig {
    /// Whether the section turns the bridge on.
    pub fn is_on(&self) -> bool {
        self.listen.is_some() || !self.rooms.is_empty() || !self.destinations.is_empty()
    }

    /// The largest share-file request accepted (`max_file_bytes`, else HipChat's limit).
    pub fn max_file(&self) -> usize {
        self.max_file_bytes.unwrap_or(hipchat::MAX_FILE_BYTES)
    }

    /// The address to listen on (127.0.0.1:8280 unless `listen` says otherwise).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8280)))
    }
}
