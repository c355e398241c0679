//! `GET /_emulator/rooms/{room}/messages?wait=5s&match=TEXT&since=ID`: for other projects'
//! test suites. Answers the room's messages containing TEXT (after message `since`, if
//! given) as soon as there is one: at once when one is already stored, else when one
//! arrives, or 408 once `wait` has passed. Without `wait` it answers at once, possibly with
//! no items. Needs a token with `view_messages` (or `admin_group`).

use crate::auth::{Caller, query_pairs};
use crate::events::{EmulatorEvent, Recipient};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use hipchat::{HistoryItem, RoomRef, Scope};
use hipkit_server::ApiError;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The longest wait a request may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// What a waiting request looks for.
struct Wanted {
    room: u64,
    text: Option<String>,
}

impl Wanted {
    fn matches(&self, item: &HistoryItem) -> bool {
        self.text
            .as_deref()
            .is_none_or(|t| item.message.contains(t))
    }

    /// The stored item of an event in this room that matches.
    fn in_event(&self, event: &EmulatorEvent) -> Option<HistoryItem> {
        let (room, item) = match event {
            EmulatorEvent::RoomNotification { room, item }
            | EmulatorEvent::RoomMessage { room, item }
            | EmulatorEvent::FileShared {
                recipient: Recipient::Room(room),
                item,
            } => (room.id, item),
            _ => return None,
        };
        (room == self.room && self.matches(item)).then(|| item.clone())
    }
}

/// A wait in hipkit's duration syntax ([`hipchat::duration`]: `5`, `500ms`, `5s`, `1m30s`),
/// at most [`MAX_WAIT`].
pub fn parse_wait(raw: &str) -> Result<Duration, ApiError> {
    let wait =
        hipchat::parse_duration(raw).map_err(|e| ApiError::bad_request(format!("wait: {e}")))?;
    if wait > MAX_WAIT {
        return Err(ApiError::bad_request(format!(
            "wait: at most {} s",
            MAX_WAIT.as_secs()
        )));
    }
    Ok(wait)
}

fn answer(items: Vec<HistoryItem>) -> Json<Value> {
    Json(json!({ "items": items }))
}

/// `GET /_emulator/rooms/{room}/messages`.
pub async fn messages(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    c.require(&[Scope::ViewMessages, Scope::AdminGroup])?;
    let query = query_pairs(uri.query());
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let wait = param("wait").map(parse_wait).transpose()?;
    let text = param("match").filter(|t| !t.is_empty()).map(str::to_owned);
    // Subscribe before reading the history: a message stored in between is in one or the other.
    let mut rx = s.subscribe();
    let (wanted, stored) = {
        let world = s.world();
        let rec = world.room(&RoomRef::parse(&room))?;
        let wanted = Wanted { room: rec.id, text };
        let start = match param("since") {
            Some(id) => rec
                .history
                .iter()
                .position(|m| m.id == id)
                .map(|p| p + 1)
                .ok_or_else(|| ApiError::bad_request(format!("since: unknown message id {id}")))?,
            None => 0,
        };
        let stored: Vec<HistoryItem> = rec
            .history
            .iter()
            .skip(start)
            .filter(|m| wanted.matches(m))
            .cloned()
            .collect();
        (wanted, stored)
    };
    let Some(wait) = wait.filter(|_| stored.is_empty()) else {
        return Ok(answer(stored));
    };
    let arrival = async {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(item) = wanted.in_event(&event) {
                        return Some(item);
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    };
    let found = tokio::select! {
        found = tokio::time::timeout(wait, arrival) => found.ok().flatten(),
        () = s.closed() => None,
    };
    match found {
        Some(item) => Ok(answer(vec![item])),
        None => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "No matching message arrived in room {room} within {} ms",
                wait.as_millis()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_use_hipkits_duration_syntax_and_are_bounded() {
        assert_eq!(parse_wait("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_wait("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_wait("5m").unwrap(), MAX_WAIT);
        assert!(
            parse_wait("5m1s")
                .unwrap_err()
                .message()
                .contains("at most 300 s")
        );
        let bad = parse_wait("soon").unwrap_err();
        assert!(
            bad.message().starts_with("wait: `soon` is not a duration"),
            "{bad:?}"
        );
    }
}
