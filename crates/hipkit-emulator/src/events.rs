//! What happened in the emulator, published in commit order to every subscriber.
//!
//! Events serialise as JSON objects with a `type` tag (ready for an SSE stream). They never
//! carry a token value: tokens appear by label only.

use crate::faults::{FaultAction, FaultRule};
use hipchat::{HistoryItem, Privacy, Scope, Webhook, WebhookEvent};
use serde::Serialize;
use tokio::sync::broadcast;

/// A room as events name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomInfo {
    /// Room id.
    pub id: u64,
    /// Room name at the time of the event.
    pub name: String,
}

/// Who received a shared file: a room, or the other side of a private chat.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// Shared into a room.
    Room(RoomInfo),
    /// Shared in the private chat of `from` with `to` (user ids).
    User {
        /// The sender's user id.
        from: u64,
        /// The recipient's user id.
        to: u64,
    },
}

/// What came of calling a webhook.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FiringOutcome {
    /// The receiver answered 2xx with a notification, which was posted to the room.
    Replied,
    /// The receiver answered 2xx with an empty body: nothing was posted.
    NoReply,
    /// The receiver answered, but not with 2xx, or with a body that is not a valid notification.
    Rejected {
        /// Why, in words (never holding a token).
        reason: String,
    },
    /// The request failed: connection refused, timeout, TLS.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// One change to the emulator's world.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EmulatorEvent {
    /// A room notification was stored in the room's history.
    RoomNotification {
        /// The room.
        room: RoomInfo,
        /// The stored history item.
        item: HistoryItem,
    },
    /// A room message was stored in the room's history.
    RoomMessage {
        /// The room.
        room: RoomInfo,
        /// The stored history item.
        item: HistoryItem,
    },
    /// A private message was stored in the chat of `from` with `to`.
    PrivateMessage {
        /// Sender's user id.
        from: u64,
        /// Recipient's user id.
        to: u64,
        /// The stored history item.
        item: HistoryItem,
    },
    /// A file was stored and a history item pointing at it was posted.
    FileShared {
        /// Where it was shared.
        recipient: Recipient,
        /// The stored history item (its `file` holds name, size and download URL).
        item: HistoryItem,
    },
    /// A room was created.
    RoomCreated {
        /// The new room.
        room: RoomInfo,
        /// Its privacy.
        privacy: Privacy,
        /// Its owner's user id.
        owner: u64,
    },
    /// A room and its history and webhooks were deleted.
    RoomDeleted {
        /// The room as it was.
        room: RoomInfo,
    },
    /// A user was created.
    UserCreated {
        /// User id.
        id: u64,
        /// Display name.
        name: String,
        /// Mention name (without `@`).
        mention_name: String,
    },
    /// A webhook was registered on a room.
    WebhookRegistered {
        /// The room.
        room: RoomInfo,
        /// The webhook as stored.
        webhook: Webhook,
    },
    /// A webhook was removed from a room.
    WebhookDeleted {
        /// The room.
        room: RoomInfo,
        /// The removed webhook's id.
        webhook_id: u64,
    },
    /// A webhook was called for a matching message, and what came of it.
    WebhookFired {
        /// The room whose message fired it.
        room: RoomInfo,
        /// The webhook's id.
        webhook_id: u64,
        /// The webhook's name, when it has one.
        name: Option<String>,
        /// The URL that was called.
        url: String,
        /// `room_message` or `room_notification`.
        event: WebhookEvent,
        /// The id of the message that fired it.
        message_id: String,
        /// The HTTP status the receiver answered with; `None` when it did not answer.
        status: Option<u16>,
        /// Milliseconds from sending the request to the end of the answer (or the failure).
        latency_ms: u64,
        /// What came of it: reply posted, nothing to post, or why it failed.
        outcome: FiringOutcome,
    },
    /// A token was added (by label: the token value is never published).
    TokenAdded {
        /// The token's label.
        label: String,
        /// Its scopes.
        scopes: Vec<Scope>,
    },
    /// A fault rule was added.
    FaultAdded {
        /// The rule with its assigned id.
        rule: FaultRule,
    },
    /// Every fault rule was removed.
    FaultsCleared {
        /// How many rules were active.
        removed: usize,
    },
    /// A fault rule matched a request and its action was taken.
    FaultHit {
        /// The rule's id.
        rule_id: u64,
        /// Request method.
        method: String,
        /// Request path (never the query: it may hold `auth_token`).
        path: String,
        /// What was done to the request.
        action: FaultAction,
        /// Matches left before the rule is spent.
        remaining: u32,
    },
    /// Messages, files and the request log were cleared (rooms, users, tokens stay).
    WorldReset,
    /// Every message of one room was removed (the room and its webhooks stay).
    RoomCleared {
        /// The room.
        room: RoomInfo,
        /// How many messages were removed.
        removed: usize,
    },
    /// One message was removed from a room's history.
    MessageDeleted {
        /// The room.
        room: RoomInfo,
        /// The removed message's id.
        message_id: String,
    },
}

/// The sending side: publishing never blocks, and a slow subscriber only misses old events.
#[derive(Debug, Clone)]
pub struct Events(broadcast::Sender<EmulatorEvent>);

impl Events {
    /// A channel keeping up to `capacity` events per subscriber (at least one).
    pub fn new(capacity: usize) -> Self {
        Self(broadcast::channel(capacity.max(1)).0)
    }

    /// Sends to current subscribers; with none, the event is dropped.
    pub fn publish(&self, event: EmulatorEvent) {
        // An error only means nobody is listening, which is fine.
        let _ = self.0.send(event);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EmulatorEvent> {
        self.0.subscribe()
    }
}
