//! Which webhooks a posted message fires: compiled patterns by webhook id, and the queue
//! the matches go to.

use super::FiringJob;
use hipchat::{
    HistoryFrom, HistoryItem, Links, RoomMessagePayload, Webhook, WebhookEvent, WebhookItem,
    WebhookRoom,
};
use regex::Regex;
use std::collections::HashMap;
use thiserror::Error;
use tokio::sync::mpsc::UnboundedSender;

/// Largest compiled pattern, so one registration cannot take the emulator's memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A webhook `pattern` that is not a regular expression the emulator can run.
#[derive(Debug, Error)]
#[error("pattern is not a valid regular expression: {0}")]
pub struct PatternError(#[from] regex::Error);

/// Compiled patterns of every registered webhook, and where matches are queued.
#[derive(Debug, Default)]
pub struct Hooks {
    patterns: HashMap<u64, Option<Regex>>,
    queue: Option<UnboundedSender<FiringJob>>,
}

impl Hooks {
    /// Sends matches to `queue` from now on (before this, nothing fires).
    pub fn attach(&mut self, queue: UnboundedSender<FiringJob>) {
        self.queue = Some(queue);
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
    /// matches the message; returns how many were queued.
    pub fn offer<'a>(
        &self,
        room: (u64, &str),
        webhooks: impl Iterator<Item = &'a Webhook>,
        event: WebhookEvent,
        item: &HistoryItem,
    ) -> usize {
        let Some(queue) = &self.queue else { return 0 };
        let mut queued = 0;
        for hook in webhooks.filter(|h| h.event == event && self.matches(h.id, &item.message)) {
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
            if queue.send(job).is_ok() {
                queued += 1;
            }
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
