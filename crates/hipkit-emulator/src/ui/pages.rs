//! The room list (`/`), one room (`/rooms/{id}`), their live fragments, and search.

use super::render::{MessageView, message_view};
use super::search::{FILTERS, Query, too_big};
use super::{Ui, UiError, ser};
use crate::auth::query_pairs;
use crate::state::{RoomRec, World};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Uri};
use axum::response::{Html, IntoResponse, Response};
use hipchat::{HistoryFrom, HistoryItem, MessageFormat, RoomRef};
use hipkit_server::ApiError;
use minijinja::context;
use serde::Serialize;

/// Most search results shown.
const MAX_RESULTS: usize = 200;
/// Longest latest-message preview in the room list.
const SNIPPET: usize = 140;

/// A room in the room list.
#[derive(Debug, Clone, Serialize)]
pub struct RoomSummary {
    id: u64,
    name: String,
    topic: String,
    count: usize,
    unread: usize,
    latest: Option<Latest>,
}

/// The newest message of a room or chat, as a one-line preview.
#[derive(Debug, Clone, Serialize)]
pub struct Latest {
    summary: String,
    date: String,
}

/// A private chat in the room list.
#[derive(Debug, Clone, Serialize)]
struct ChatSummary {
    a: u64,
    b: u64,
    between: String,
    count: usize,
    latest: Option<Latest>,
}

fn sender_name(item: &HistoryItem) -> &str {
    match &item.from {
        HistoryFrom::User(u) => &u.name,
        HistoryFrom::Label(l) => l,
    }
}

/// `sender: text` of a message in one line, tags stripped, shortened.
pub fn snippet(item: &HistoryItem) -> String {
    let body = if item.message_format == Some(MessageFormat::Html) {
        ammonia::Builder::empty().clean(&item.message).to_string()
    } else {
        item.message.clone()
    };
    let body = match (&item.card, &item.file) {
        (_, Some(f)) => format!("{body} [{}]", f.name),
        (Some(c), None) => match c.get("title").and_then(|t| t.as_str()) {
            Some(title) => format!("{body} [{title}]"),
            None => body,
        },
        (None, None) => body,
    };
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = format!("{}: {line}", sender_name(item));
    if out.chars().count() > SNIPPET {
        out = out.chars().take(SNIPPET - 1).collect::<String>() + "…";
    }
    out
}

fn latest(items: Option<&HistoryItem>) -> Option<Latest> {
    items.map(|m| Latest {
        summary: snippet(m),
        date: m.date.clone(),
    })
}

/// The room list entry of `rec`, with its unread count.
pub fn room_summary(ui: &Ui, rec: &RoomRec) -> RoomSummary {
    let read = ui
        .reads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&rec.id)
        .cloned();
    let unread = match read {
        Some(at) => rec.history.iter().rev().take_while(|m| m.date > at).count(),
        None => rec.history.len(),
    };
    RoomSummary {
        id: rec.id,
        name: rec.name.clone(),
        topic: rec.topic.clone(),
        count: rec.history.len(),
        unread,
        latest: latest(rec.history.last()),
    }
}

fn chat_summaries(world: &World) -> Vec<ChatSummary> {
    let name = |id: u64| world.user(id).map_or(format!("#{id}"), |u| u.name.clone());
    let mut chats: Vec<ChatSummary> = world
        .private_chats()
        .map(|((a, b), items)| ChatSummary {
            a,
            b,
            between: format!("{} ↔ {}", name(a), name(b)),
            count: items.len(),
            latest: latest(items.last()),
        })
        .collect();
    chats.sort_by(|a, b| a.between.cmp(&b.between));
    chats
}

fn lists(ui: &Ui) -> minijinja::Value {
    let world = ui.shared.world();
    let rooms: Vec<RoomSummary> = world.rooms().map(|r| room_summary(ui, r)).collect();
    let chats = chat_summaries(&world);
    context! { rooms => ser(rooms), chats => ser(chats) }
}

/// `GET /`: rooms with unread counts and their latest message, private chats, search box.
pub async fn index(State(ui): State<Ui>) -> Result<Response, UiError> {
    let ctx =
        context! { section => "rooms", api => format!("{}/v2/", ui.shared.base), ..lists(&ui) };
    ui.page("index.html", ctx)
}

/// `GET /ui/fragment/rooms`: the room and chat lists alone (polling fallback, resync).
pub async fn rooms_fragment(State(ui): State<Ui>) -> Result<Html<String>, UiError> {
    ui.render("rooms.html", lists(&ui)).map(Html)
}

/// The room with this id, or 404.
pub fn room_id(world: &World, id: &str) -> Result<u64, ApiError> {
    Ok(world.room(&RoomRef::parse(id))?.id)
}

fn views(ui: &Ui, room: u64, items: impl Iterator<Item = HistoryItem>) -> Vec<MessageView> {
    items
        .map(|m| message_view(&ui.sanitizer, &m, Some(room)))
        .collect()
}

/// Marks `room` read up to now.
pub fn mark_read(ui: &Ui, room: u64) {
    ui.reads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(room, hipchat::now_iso());
}

/// `GET /rooms/{id}`: the room's history in order, the composer, clear and delete.
pub async fn room(State(ui): State<Ui>, Path(id): Path<String>) -> Result<Response, UiError> {
    let (room, items, users, retention) = {
        let world = ui.shared.world();
        let id = room_id(&world, &id)?;
        let rec = world.room(&RoomRef::Id(id))?;
        let room = context! { id => rec.id, name => rec.name.clone(), topic => rec.topic.clone(),
        privacy => ser(rec.privacy), webhooks => rec.webhooks.len() };
        let users: Vec<minijinja::Value> = world
            .users()
            .map(|u| context! { id => u.id, name => u.name.clone(), mention => u.mention_name.clone() })
            .collect();
        (
            (rec.id, room),
            rec.history.to_vec(),
            users,
            world.retention(),
        )
    };
    mark_read(&ui, room.0);
    let messages = views(&ui, room.0, items.into_iter());
    ui.page(
        "room.html",
        context! { section => "rooms", room => room.1, messages => ser(messages), users => users,
        retention => retention },
    )
}

/// `GET /rooms/{id}/fragment?after=ID`: the messages after `after` (header `X-Reset: 0`),
/// or all of them when `after` is absent or gone (`X-Reset: 1`: replace the list).
pub async fn room_fragment(
    State(ui): State<Ui>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, UiError> {
    let after = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v);
    let (room, items, reset) = {
        let world = ui.shared.world();
        let id = room_id(&world, &id)?;
        let history = &world.room(&RoomRef::Id(id))?.history;
        let pos = after
            .as_deref()
            .and_then(|a| history.iter().position(|m| m.id == a));
        let items: Vec<HistoryItem> = match pos {
            Some(p) => history.iter().skip(p + 1).cloned().collect(),
            None => history.to_vec(),
        };
        (id, items, pos.is_none())
    };
    let messages = views(&ui, room, items.into_iter());
    let body = ui.render("message.html", context! { messages => ser(messages) })?;
    let mut resp = Html(body).into_response();
    resp.headers_mut().insert(
        "x-reset",
        HeaderValue::from_static(if reset { "1" } else { "0" }),
    );
    Ok(resp)
}

/// A search result: the message and the room it is in.
#[derive(Debug, Serialize)]
struct Hit {
    room_id: u64,
    room: String,
    m: MessageView,
}

/// `GET /search?q=...`: messages across rooms matching the filters, newest first. A query
/// too big to be typed is a 400; the search runs over a copy of the histories, off the lock.
pub async fn search(State(ui): State<Ui>, uri: Uri) -> Result<Response, UiError> {
    let raw = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .unwrap_or_default();
    if let Some(why) = too_big(&raw) {
        return Err(ApiError::bad_request(why).into());
    }
    let (hits, error, more) = match Query::parse(&raw) {
        Err(e) => (Vec::new(), Some(e), false),
        Ok(q) if q.is_empty() => (Vec::new(), None, false),
        Ok(q) => {
            let found = find(&ui, q).await?;
            let more = found.len() > MAX_RESULTS;
            (found.into_iter().take(MAX_RESULTS).collect(), None, more)
        }
    };
    ui.page(
        "search.html",
        context! { section => "search", q => raw, hits => ser(hits), error => error, more => more, filters => FILTERS },
    )
}

/// Matches newest first, at most one more than shown (to say there are more). The lock is
/// held only to copy the searched rooms' histories; matching runs on a blocking thread.
async fn find(ui: &Ui, q: Query) -> Result<Vec<Hit>, ApiError> {
    let snapshot: Vec<(u64, String, Vec<HistoryItem>)> = ui
        .shared
        .world()
        .rooms()
        .filter(|r| q.wants_room(r.id, &r.name))
        .map(|r| (r.id, r.name.clone(), r.history.to_vec()))
        .collect();
    let mut found = tokio::task::spawn_blocking(move || {
        let mut found: Vec<(String, u64, String, HistoryItem)> = Vec::new();
        for (id, name, history) in snapshot {
            found.extend(
                history
                    .into_iter()
                    .filter(|m| q.matches(m))
                    .map(|m| (m.date.clone(), id, name.clone(), m)),
            );
        }
        found
    })
    .await
    .map_err(|e| ApiError::internal(format!("search failed: {e}")))?;
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.truncate(MAX_RESULTS + 1);
    Ok(found
        .into_iter()
        .map(|(_, room_id, room, item)| Hit {
            room_id,
            room,
            m: message_view(&ui.sanitizer, &item, Some(room_id)),
        })
        .collect())
}

/// The messages of the private chat of users `a` and `b`, and the chat's title; 404 for an
/// unknown user.
fn chat(ui: &Ui, a: u64, b: u64) -> Result<(String, Vec<MessageView>), ApiError> {
    let world = ui.shared.world();
    let name = |id: u64| {
        world
            .user(id)
            .map(|u| u.name.clone())
            .ok_or_else(|| ApiError::not_found("User not found"))
    };
    let title = format!("{} ↔ {}", name(a)?, name(b)?);
    let messages = world
        .private_chat(a, b)
        .map(|m| message_view(&ui.sanitizer, m, None))
        .collect();
    Ok((title, messages))
}

/// `GET /chats/{a}/{b}`: a private chat's messages in order.
pub async fn chat_page(
    State(ui): State<Ui>,
    Path((a, b)): Path<(u64, u64)>,
) -> Result<Response, UiError> {
    let (title, messages) = chat(&ui, a, b)?;
    ui.page(
        "chat.html",
        context! { section => "rooms", title => title, a => a, b => b, messages => ser(messages) },
    )
}

/// `GET /chats/{a}/{b}/fragment`: the chat's messages alone (live refresh, polling).
pub async fn chat_fragment(
    State(ui): State<Ui>,
    Path((a, b)): Path<(u64, u64)>,
) -> Result<Html<String>, UiError> {
    let (_, messages) = chat(&ui, a, b)?;
    ui.render("message.html", context! { messages => ser(messages) })
        .map(Html)
}
