//! The emulator's own pages: tokens (labels and scopes only), webhooks and their firings,
//! rate-limit and flood-control budgets, fault rules, and the request log.

use super::{Ui, UiError, ser};
use crate::limits::Count;
use axum::extract::State;
use axum::response::{Html, Response};
use hipchat::{Scope, WebhookEvent};
use minijinja::context;
use serde::Serialize;

/// Request-log lines shown, newest first.
const LOG_LINES: usize = 300;

/// `GET /tokens`: every token by label and scopes; the value is never shown.
pub async fn tokens(State(ui): State<Ui>) -> Result<Response, UiError> {
    tokens_page(&ui, None)
}

/// The tokens page, with a just-created token shown once.
pub fn tokens_page(ui: &Ui, created: Option<(String, String)>) -> Result<Response, UiError> {
    let tokens: Vec<minijinja::Value> = ui
        .shared
        .world()
        .token_labels()
        .into_iter()
        .map(|(label, scopes)| {
            let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            context! { label => label, scopes => scopes }
        })
        .collect();
    let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let created = created.map(|(label, token)| context! { label => label, token => token });
    ui.page(
        "tokens.html",
        context! { section => "tokens", tokens => tokens, all_scopes => all, created => created },
    )
}

/// `GET /webhooks`: webhooks by room, the register form, and recent firings.
pub async fn webhooks(State(ui): State<Ui>) -> Result<Response, UiError> {
    let (hooks, rooms) = {
        let world = ui.shared.world();
        let mut hooks = Vec::new();
        let mut rooms = Vec::new();
        for room in world.rooms() {
            rooms.push(context! { id => room.id, name => room.name.clone() });
            for hook in room.webhooks.values() {
                hooks.push(
                    context! { room_id => room.id, room => room.name.clone(), hook => ser(hook) },
                );
            }
        }
        (hooks, rooms)
    };
    let events: Vec<String> = [WebhookEvent::RoomMessage, WebhookEvent::RoomNotification]
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ui.page(
        "webhooks.html",
        context! { section => "webhooks", hooks => hooks, rooms => rooms, events => events,
        firings => ser(ui.firings.newest_first()) },
    )
}

/// `GET /ui/fragment/firings`: the firings table body alone (polling fallback, resync).
pub async fn firings_fragment(State(ui): State<Ui>) -> Result<Html<String>, UiError> {
    ui.render(
        "firing.html",
        context! { firings => ser(ui.firings.newest_first()) },
    )
    .map(Html)
}

/// One budget row.
#[derive(Debug, Serialize)]
struct Budget {
    key: String,
    limit: u64,
    remaining: u64,
    used: u64,
    reset: u64,
}

fn rows(list: Vec<(String, Count)>) -> Vec<Budget> {
    list.into_iter()
        .map(|(key, c)| Budget {
            key,
            limit: c.limit,
            remaining: c.remaining,
            used: c.limit.saturating_sub(c.remaining),
            reset: c.reset,
        })
        .collect()
}

/// `GET /rates`: per-token and per-recipient budgets in their current windows.
pub async fn rates(State(ui): State<Ui>) -> Result<Response, UiError> {
    let b = ui.shared.limiter.budgets();
    let names = {
        let world = ui.shared.world();
        let rooms: Vec<(String, String)> = world
            .rooms()
            .map(|r| (format!("room:{}", r.id), r.name.clone()))
            .collect();
        let users: Vec<(String, String)> = world
            .users()
            .map(|u| (format!("user:{}", u.id), u.name.clone()))
            .collect();
        [rooms, users].concat()
    };
    let mut recipients = rows(b.recipients);
    for r in &mut recipients {
        if let Some((_, name)) = names.iter().find(|(k, _)| *k == r.key) {
            r.key = format!("{} ({name})", r.key);
        }
    }
    ui.page(
        "rates.html",
        context! { section => "rates",
        rate => context! { spec => b.rate.0.to_string(), enforced => b.rate.1 },
        flood => context! { spec => b.flood.0.to_string(), enforced => b.flood.1 },
        tokens => ser(rows(b.tokens)), recipients => ser(recipients) },
    )
}

/// `GET /faults`: active fault rules and the form to add one.
pub async fn faults(State(ui): State<Ui>) -> Result<Response, UiError> {
    let rules: Vec<minijinja::Value> = ui
        .shared
        .world()
        .faults()
        .iter()
        .map(|r| {
            let action = serde_json::to_string(&r.action).unwrap_or_default();
            context! { rule => ser(r), action => action }
        })
        .collect();
    ui.page(
        "faults.html",
        context! { section => "faults", rules => rules },
    )
}

/// `GET /requests`: the newest requests to `/v2` and webhook calls made (tokens by label only).
pub async fn requests(State(ui): State<Ui>) -> Result<Response, UiError> {
    let lines: Vec<minijinja::Value> = {
        let world = ui.shared.world();
        let all: Vec<_> = world.requests().collect();
        all.iter()
            .rev()
            .take(LOG_LINES)
            .map(|r| {
                let at = chrono::DateTime::from_timestamp_millis(r.at_ms as i64)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                context! { at => at, method => r.method.clone(), path => r.path.clone(),
                token => r.token.clone(), outgoing => r.outgoing, status => r.status }
            })
            .collect()
    };
    ui.page(
        "requests.html",
        context! { section => "requests", lines => lines, shown => LOG_LINES },
    )
}
