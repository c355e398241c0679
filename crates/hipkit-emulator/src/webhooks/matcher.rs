//! Which webhooks a posted message fires: compiled patterns by webhook id, and the bounded
//! queue the matches go to (a match that finds it full is dropped and counted).

use super::{FiringJob, Queued};
use hipchat::{
    HistoryFrom, HistoryItem, Links, RoomMessagePayload, Webhook, WebhookEvent, WebhookItem,
    WebhookRoom,
};
use regex::Regex;
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;

/// Largest compiled pattern, so one registration cannot take the emulator's memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A webhook `pattern` that is not a regular expression the emulator can run.
#[derive(Debug, Error)]
#[error("pattern is not a valid regular expression: {0}")]
pub struct PatternError(#[from] regex::Error);

/// Where matches go: the channel to the firing task, and one permit per call that may wait
/// or be in flight (the permit travels with the call and is freed when it is done).
#[derive(Debug)]
struct Queue {
    calls: UnboundedSender<Queued>,
    places: Arc<Semaphore>,
}

/// Compiled patterns of every registered webhook, and where matches are queued.
#[derive(Debug, Default)]
pub struct Hooks {
    patterns: HashMap<u64, Option<Regex>>,
    queue: Option<Queue>,
    dropped: u64,
}

impl Hooks {
    /// Sends matches to `calls` from now on, at most `capacity` waiting or in flight at
    /// once (before this, nothing fires).
    pub fn attach(&mut self, calls: UnboundedSender<Queued>, capacity: usize) {
        self.queue = Some(Queue {
            calls,
            places: Arc::new(Semaphore::new(capacity.max(1))),
        });
    }

    /// How many webhooks are registered, in all rooms.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Calls dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Compiles a webhook's pattern; call before storing the webhook.
    pub fn compile(pattern: Option<&str>) -> Result<Option<Regex>, PatternError> {
        pattern
            .filter(|p| !p.is_empty())
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .build()
            })
            .transpose()
            .map_err(PatternError)
    }

    /// Remembers webhook `id`'s compiled pattern.
    pub fn insert(&mut self, id: u64, pattern: Option<Regex>) {
        self.patterns.insert(id, pattern);
    }

    /// Forgets webhook `id`.
    pub fn remove(&mut self, id: u64) {
        self.patterns.remove(&id);
    }

    /// Queues a call for every webhook of the room subscribed to `event` whose pattern
    /// matches the message; returns how many were queued (a full queue drops and counts).
    pub fn offer<'a>(
        &mut self,
        room: (u64, &str),
        webhooks: impl Iterator<Item = &'a Webhook>,
        event: WebhookEvent,
        item: &HistoryItem,
    ) -> usize {
        let Some(queue) = &self.queue else { return 0 };
        let mut queued = 0;
        let mut dropped = 0;
        let matching = webhooks.filter(|h| h.event == event && self.matches(h.id, &item.message));
        for hook in matching {
            let Ok(permit) = queue.places.clone().try_acquire_owned() else {
                dropped += 1;
                continue;
            };
            let job = FiringJob {
                room_id: room.0,
                room_name: room.1.to_owned(),
                webhook: hook.clone(),
                jwt: hook.authentication.as_deref() == Some("jwt"),
                user_id: match &item.from {
                    HistoryFrom::User(u) => Some(u.id),
                    HistoryFrom::Label(_) => None,
                },
                payload: RoomMessagePayload {
                    event,
                    item: WebhookItem {
                        message: item.clone(),
                        room: WebhookRoom {
                            id: room.0,
                            name: room.1.to_owned(),
                            links: Links::default(),
                            version: None,
                        },
                    },
                    oauth_client_id: None,
                    webhook_id: hook.id.into(),
                },
            };
            // A closed queue means the emulator is stopping: nothing is left to fire.
            if queue.calls.send(Queued { job, permit }).is_ok() {
                queued += 1;
            }
        }
        if dropped > 0 {
            tracing::warn!(room = room.0, dropped, "webhook queue full: calls dropped");
            self.dropped += dropped;
        }
        queued
    }

    fn matches(&self, id: u64, message: &str) -> bool {
        match self.patterns.get(&id) {
            Some(Some(re)) => re.is_match(message),
            Some(None) => true,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_search_unanchored_and_case_sensitive() {
        let re = Hooks::compile(Some("/deploy")).unwrap().unwrap();
        assert!(re.is_match("please /deploy now"));
        assert!(!re.is_match("/DEPLOY"));
        assert!(Hooks::compile(Some("(")).is_err());
        assert!(Hooks::compile(Some("")).unwrap().is_none());
    }
}
