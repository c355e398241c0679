//! HipChat API v2 as old tools call it: room notification, room message, private message,
//! share file, room lookup and room list, each answered with HipChat's status codes and
//! envelopes (`auth_test=true` answers 202 once the token's scopes are checked).

use super::{Intake, queue::commit};
use crate::accepted::{Accepted, CallKind, FileNote};
use crate::directory::Room;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hipchat::{MessageFormat, PrivateMessage, RoomMessage, RoomNotification, Scope, UserRef};
use hipkit_server::hipchat_api::{json_body, query_pairs, read_shared_file};
use hipkit_server::{ApiError, TimedBody};
use serde_json::{Value, json};
use std::sync::Arc;

/// The scopes room lookups accept.
const VIEW: &[Scope] = &[Scope::ViewGroup, Scope::ViewRoom];

/// `POST /v2/room/{room}/notification` → 204.
pub async fn notification(
    State(s): State<Arc<Intake>>,
    Path(room): Path<String>,
    parts: Parts,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    let caller = s.caller(&parts, &[Scope::SendNotification])?;
    let n: RoomNotification = json_body(&parts.headers, &body)?;
    let room = caller.room(&s.directory, &room)?;
    let accepted = Accepted::new(CallKind::Notification, &room.name, n);
    s.queue_room(room, &accepted).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/room/{room}/message` → 201 `{"id", "timestamp"}`.
pub async fn room_message(
    State(s): State<Arc<Intake>>,
    Path(room): Path<String>,
    parts: Parts,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    let caller = s.caller(&parts, &[Scope::SendMessage])?;
    let m: RoomMessage = json_body(&parts.headers, &body)?;
    let room = caller.room(&s.directory, &room)?;
    let accepted = Accepted::by_user(
        CallKind::Message,
        &room.name,
        m.message,
        MessageFormat::Text,
        &caller.token.label,
    );
    s.queue_room(room, &accepted).await?;
    let answer = json!({"id": accepted.id, "timestamp": hipchat::now_iso()});
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `POST /v2/user/{user}/message` → 204, to a `[[bridge.users]]` user.
pub async fn private_message(
    State(s): State<Arc<Intake>>,
    Path(user): Path<String>,
    parts: Parts,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    let caller = s.caller(&parts, &[Scope::SendMessage])?;
    let m: PrivateMessage = json_body(&parts.headers, &body)?;
    let user = s
        .directory
        .user(&UserRef::parse(&user))
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    let mut accepted = Accepted::by_user(
        CallKind::Private,
        &user.name,
        m.message,
        m.message_format.unwrap_or(MessageFormat::Text),
        &caller.token.label,
    );
    accepted.message.notify = m.notify;
    accepted.address = user
        .mention_name
        .as_ref()
        .map(|m| format!("@{m}"))
        .or_else(|| user.email.clone());
    commit(
        &s.outbox,
        &format!("user:{}", user.name),
        &user.to,
        &accepted,
        &s.uploads,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/room/{room}/share/file` → 204: the file's bytes are committed with the parcels
/// of the destinations that take uploads (within `[bridge] max_file_bytes`, HipChat's 413
/// beyond); the others name it with its size.
pub async fn share_file(
    State(s): State<Arc<Intake>>,
    Path(room): Path<String>,
    parts: Parts,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    let caller = s.caller(&parts, &[Scope::SendMessage])?;
    let shared = read_shared_file(&parts.headers, body).await?;
    let room = caller.room(&s.directory, &room)?;
    let mut accepted = Accepted::by_user(
        CallKind::File,
        &room.name,
        shared.message,
        MessageFormat::Text,
        &caller.token.label,
    );
    accepted.file = Some(FileNote::with_bytes(
        shared.name,
        shared.content_type,
        &shared.data,
    ));
    s.queue_room(room, &accepted).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A room as HipChat describes it; `full` adds what `GET /v2/room/{room}` answers.
fn room_json(base: &str, room: &Room, full: bool) -> Value {
    let link = format!("{base}/v2/room/{}", room.id);
    let mut v = json!({
        "id": room.id,
        "name": room.name,
        "privacy": "public",
        "is_archived": false,
        "version": format!("{:08X}", room.id),
        "links": {
            "self": link,
            "webhooks": format!("{link}/webhook"),
            "members": format!("{link}/member"),
            "participants": format!("{link}/participant"),
        },
    });
    if full {
        v["topic"] = json!(room.topic);
        v["xmpp_jid"] = json!(format!(
            "{}_{}@conf.hipkit.local",
            room.id,
            room.name.to_lowercase().replace(' ', "_")
        ));
        v["is_guest_accessible"] = json!(false);
        v["guest_access_url"] = Value::Null;
        v["created"] = json!("2020-01-01T00:00:00+00:00");
        v["owner"] = Value::Null;
        v["participants"] = json!([]);
        v["statistics"] = json!({"links": {"self": format!("{link}/statistics")}});
    }
    v
}

/// `GET /v2/room/{room}` (id or name).
pub async fn get_room(
    State(s): State<Arc<Intake>>,
    Path(room): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    s.caller(&parts, VIEW)?;
    let room = s
        .directory
        .room(&hipchat::RoomRef::parse(&room))
        .ok_or_else(|| ApiError::not_found("Room not found"))?;
    Ok(Json(room_json(&s.base, room, true)).into_response())
}

/// A paging parameter: absent is `default`; not a number is HipChat's 400.
fn paging(query: &[(String, String)], key: &str, default: usize) -> Result<usize, ApiError> {
    match query.iter().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("Invalid value for {key}: {v}"))),
    }
}

/// `GET /v2/room` → `{"items", "startIndex", "maxResults", "links"}`.
pub async fn list_rooms(State(s): State<Arc<Intake>>, parts: Parts) -> Result<Response, ApiError> {
    s.caller(&parts, VIEW)?;
    let query = query_pairs(parts.uri.query());
    let start = paging(&query, "start-index", 0)?;
    let max = paging(&query, "max-results", 100)?.min(1000);
    let items: Vec<Value> = s
        .directory
        .rooms()
        .iter()
        .skip(start)
        .take(max)
        .map(|r| room_json(&s.base, r, false))
        .collect();
    let mut links = json!({"self": format!("{}/v2/room", s.base)});
    if start + max < s.directory.rooms().len() {
        links["next"] = json!(format!(
            "{}/v2/room?start-index={}&max-results={max}",
            s.base,
            start + max
        ));
    }
    Ok(Json(json!({
        "items": items,
        "startIndex": start,
        "maxResults": max,
        "links": links,
    }))
    .into_response())
}

/// `GET /v2/user/{user}` (id, `@mention` or e-mail): a `[[bridge.users]]` user as HipChat
/// describes one, so that clients can message them through its `links.self`.
pub async fn get_user(
    State(s): State<Arc<Intake>>,
    Path(user): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    s.caller(&parts, &[Scope::ViewGroup])?;
    let user = s
        .directory
        .user(&UserRef::parse(&user))
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    Ok(Json(json!({
        "id": user.id,
        "name": user.name,
        "mention_name": user.mention_name,
        "email": user.email,
        "title": "",
        "is_guest": false,
        "is_deleted": false,
        "is_group_admin": false,
        "presence": null,
        "timezone": "UTC",
        "links": {"self": format!("{}/v2/user/{}", s.base, user.id)},
    }))
    .into_response())
}
