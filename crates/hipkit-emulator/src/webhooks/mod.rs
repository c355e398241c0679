//! Webhooks that fire: a message posted to a room is matched against the room's webhooks
//! (event, and `pattern` searched unanchored and case-sensitive, as HipChat did) while the
//! world is locked; each match becomes a [`FiringJob`] for the background task in
//! [`fire`], which calls the URL and posts any reply back into the room.

mod fire;
mod matcher;

pub use fire::{FiringSettings, run};
pub use matcher::Hooks;

use hipchat::{RoomMessagePayload, Webhook};
use tokio::sync::OwnedSemaphorePermit;

/// A job on its way to the firing task, holding its place in the bounded queue.
#[derive(Debug)]
pub struct Queued {
    /// The call.
    pub job: FiringJob,
    /// Freed when the call is done, making room for another.
    pub permit: OwnedSemaphorePermit,
}

/// One webhook call to make.
#[derive(Debug, Clone)]
pub struct FiringJob {
    /// The room the message was posted to.
    pub room_id: u64,
    /// The room's name at posting time.
    pub room_name: String,
    /// The webhook as registered.
    pub webhook: Webhook,
    /// Whether the call is JWT-signed.
    pub jwt: bool,
    /// The user who posted the message (for the JWT's `sub`), if a user did.
    pub user_id: Option<u64>,
    /// The body to POST.
    pub payload: RoomMessagePayload,
}
