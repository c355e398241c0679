//! `GET /ui/events`: the event stream as Server-Sent Events, each event carrying the HTML
//! the page inserts (rendered by the same templates as the page itself). The first event is
//! `hello`, so the page knows the stream works (a proxy that buffers it shows no `hello`,
//! and the page falls back to polling). A subscriber that falls behind gets `resync`.

use super::feed::Firing;
use super::pages::{room_summary, snippet};
use super::{Ui, ser};
use crate::auth::query_pairs;
use crate::events::{EmulatorEvent, Recipient, RoomInfo};
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use hipchat::HistoryItem;
use minijinja::context;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

/// How soon the browser reconnects after the stream drops (e.g. an emulator restart).
const RETRY: Duration = Duration::from_millis(1000);

/// Which events a page wants: one room's, or everything (room list, webhooks page).
#[derive(Debug, Clone, Copy)]
enum Scope {
    Room(u64),
    All,
}

struct LiveState {
    ui: Ui,
    ticket: super::streams::Ticket,
    rx: Receiver<EmulatorEvent>,
    scope: Scope,
    hello: bool,
}

/// `GET /ui/events?room=ID` (one room) or `GET /ui/events` (everything). The answer asks
/// for the connection to close when the stream ends (evicted by a newer stream, or
/// shutdown), so an ended stream frees its connection at once.
pub async fn events(
    State(ui): State<Ui>,
    uri: Uri,
) -> (
    [(header::HeaderName, &'static str); 1],
    Sse<impl Stream<Item = Result<Event, Infallible>>>,
) {
    let scope = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "room")
        .and_then(|(_, v)| v.parse().ok())
        .map_or(Scope::All, Scope::Room);
    let state = LiveState {
        ticket: ui.streams.admit(),
        rx: ui.shared.subscribe(),
        ui,
        scope,
        hello: false,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if !st.hello {
            st.hello = true;
            let hello = Event::default()
                .event("hello")
                .retry(RETRY)
                .data(&*st.ui.shared.base);
            return Some((Ok(hello), st));
        }
        let shared = st.ui.shared.clone();
        loop {
            let received = tokio::select! {
                r = st.rx.recv() => r,
                () = shared.closed() => return None,
                () = st.ticket.evicted() => return None,
            };
            match received {
                Ok(event) => {
                    if let Some(out) = translate(&st.ui, st.scope, &event) {
                        return Some((Ok(out), st));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    return Some((Ok(Event::default().event("resync").data("{}")), st));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    ([(header::CONNECTION, "close")], sse)
}

fn in_scope(scope: Scope, room: &RoomInfo) -> bool {
    match scope {
        Scope::Room(id) => id == room.id,
        Scope::All => true,
    }
}

fn sse(name: &str, data: serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The SSE event a page gets for an emulator event, if any.
fn translate(ui: &Ui, scope: Scope, event: &EmulatorEvent) -> Option<Event> {
    match event {
        EmulatorEvent::RoomNotification { room, item }
        | EmulatorEvent::RoomMessage { room, item }
        | EmulatorEvent::FileShared {
            recipient: Recipient::Room(room),
            item,
        } => in_scope(scope, room).then(|| message_event(ui, room, item))?,
        EmulatorEvent::PrivateMessage { .. }
        | EmulatorEvent::FileShared {
            recipient: Recipient::User { .. },
            ..
        } => matches!(scope, Scope::All).then(|| sse("private", json!({}))),
        EmulatorEvent::RoomCreated { room, .. } if matches!(scope, Scope::All) => {
            let world = ui.shared.world();
            let rec = world.room(&hipchat::RoomRef::Id(room.id)).ok()?;
            let summary = room_summary(ui, rec);
            drop(world);
            let html = ui.render(
                "rooms.html",
                context! { rooms => ser([summary]), only_rows => true },
            );
            Some(sse("room", json!({"room_id": room.id, "html": html.ok()?})))
        }
        EmulatorEvent::RoomDeleted { room } => {
            in_scope(scope, room).then(|| sse("room_deleted", json!({"room_id": room.id})))
        }
        EmulatorEvent::RoomCleared { room, .. } => {
            in_scope(scope, room).then(|| sse("cleared", json!({"room_id": room.id})))
        }
        EmulatorEvent::MessageDeleted { room, message_id } => in_scope(scope, room)
            .then(|| sse("deleted", json!({"room_id": room.id, "id": message_id}))),
        EmulatorEvent::WorldReset => Some(sse("reset", json!({}))),
        EmulatorEvent::WebhookFired { room, .. } if in_scope(scope, room) => {
            let firing = Firing::from_event(event)?;
            let html = ui
                .render("firing.html", context! { f => ser(firing) })
                .ok()?;
            Some(sse("firing", json!({"room_id": room.id, "html": html})))
        }
        _ => None,
    }
}

fn message_event(ui: &Ui, room: &RoomInfo, item: &HistoryItem) -> Option<Event> {
    let view = super::render::message_view(&ui.sanitizer, item, Some(room.id));
    let html = ui
        .render("message.html", context! { m => ser(view) })
        .ok()?;
    Some(sse(
        "message",
        json!({
            "room_id": room.id,
            "id": item.id,
            "html": html,
            "summary": snippet(item),
            "date": item.date,
        }),
    ))
}
