//! The webhook firings the UI shows: recorded from the event stream as they happen (the
//! world keeps no firing history), the most recent ones only.

use crate::events::{EmulatorEvent, FiringOutcome};
use crate::state::Shared;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;

/// Firings kept for the webhooks page.
const KEPT: usize = 500;

/// One call of a webhook, as the webhooks page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Firing {
    /// When it was recorded (ISO-8601).
    pub at: String,
    /// Room id.
    pub room_id: u64,
    /// Room name.
    pub room: String,
    /// Webhook id.
    pub webhook_id: u64,
    /// Webhook name, if any.
    pub name: Option<String>,
    /// Called URL.
    pub url: String,
    /// `room_message` or `room_notification`.
    pub event: String,
    /// The message that fired it.
    pub message_id: String,
    /// Status answered, if any.
    pub status: Option<u16>,
    /// Milliseconds to the answer or failure.
    pub latency_ms: u64,
    /// `replied`, `no_reply`, `rejected`, `failed`.
    pub outcome: &'static str,
    /// Why it was rejected or failed.
    pub reason: Option<String>,
}

impl Firing {
    /// The firing an event describes, if it is a `WebhookFired`.
    pub fn from_event(event: &EmulatorEvent) -> Option<Self> {
        let EmulatorEvent::WebhookFired {
            room,
            webhook_id,
            name,
            url,
            event,
            message_id,
            status,
            latency_ms,
            outcome,
        } = event
        else {
            return None;
        };
        let (outcome, reason) = match outcome {
            FiringOutcome::Replied => ("replied", None),
            FiringOutcome::NoReply => ("no_reply", None),
            FiringOutcome::Rejected { reason } => ("rejected", Some(reason.clone())),
            FiringOutcome::Failed { reason } => ("failed", Some(reason.clone())),
        };
        Some(Self {
            at: hipchat::now_iso(),
            room_id: room.id,
            room: room.name.clone(),
            webhook_id: *webhook_id,
            name: name.clone(),
            url: url.clone(),
            event: serde_json::to_value(event)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            message_id: message_id.clone(),
            status: *status,
            latency_ms: *latency_ms,
            outcome,
            reason,
        })
    }
}

/// The most recent firings, newest last.
#[derive(Clone, Default)]
pub struct Firings(Arc<Mutex<VecDeque<Firing>>>);

impl Firings {
    /// Starts recording the firings `shared` publishes from now on. The recorder ends with
    /// the emulator (when the event channel closes).
    pub fn record(shared: &Shared) -> Self {
        let firings = Self::default();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return firings;
        };
        let mut rx = shared.subscribe();
        let store = firings.clone();
        runtime.spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        if let Some(f) = Firing::from_event(&event) {
                            store.push(f);
                        }
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        firings
    }

    fn push(&self, firing: Firing) {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if list.len() >= KEPT {
            list.pop_front();
        }
        list.push_back(firing);
    }

    /// The kept firings, newest first.
    pub fn newest_first(&self) -> Vec<Firing> {
        let list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().rev().cloned().collect()
    }
}
