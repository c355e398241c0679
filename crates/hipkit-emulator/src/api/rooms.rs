//! `/v2/room`: list, get, create, delete, statistics.

use super::{PageParams, created, flag};
use crate::auth::{Caller, query_pairs};
use crate::error::EmuError;
use crate::extract::{RawBody, parse_json};
use crate::state::{ADMIN_USER_ID, Shared, version_tag};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hipchat::{
    CreateRoom, Links, Privacy, Room, RoomRef, RoomStatistics, Scope, UserRef, Validate,
};

/// `GET /v2/room`.
pub async fn list(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, EmuError> {
    c.require(&[Scope::ViewGroup, Scope::ViewRoom])?;
    let query = query_pairs(uri.query());
    let paging = PageParams::parse(&query, 100)?;
    let include_private = flag(&query, "include-private", true)?;
    flag(&query, "include-archived", false)?;
    let rooms: Vec<Room> = s
        .world()
        .rooms
        .values()
        .filter(|r| include_private || r.privacy == Privacy::Public)
        .map(|r| Room {
            id: r.id,
            name: r.name.clone(),
            links: s.room_links(r.id),
            privacy: r.privacy,
            is_archived: false,
            version: Some(version_tag(r.id)),
            topic: None,
            xmpp_jid: None,
            is_guest_accessible: None,
            guest_access_url: None,
            created: None,
            owner: None,
        })
        .collect();
    Ok(Json(paging.page(&s, &uri, rooms)).into_response())
}

/// `GET /v2/room/{room}`.
pub async fn get_one(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(room): Path<String>,
) -> Result<Response, EmuError> {
    c.require(&[Scope::ViewGroup, Scope::ViewRoom])?;
    let world = s.world();
    let id = world.room_id(&RoomRef::parse(&room))?;
    let rec = world
        .rooms
        .get(&id)
        .ok_or_else(|| EmuError::not_found("Room not found"))?;
    Ok(Json(s.room_object(&world, rec)).into_response())
}

/// `POST /v2/room` → 201 `{"id", "links"}`.
pub async fn create(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, EmuError> {
    c.require(&[Scope::ManageRooms])?;
    let req: CreateRoom = parse_json(&headers, &body)?;
    req.validate()?;
    let mut world = s.world();
    let owner = match req.owner_user_id.as_deref() {
        Some(o) => world
            .user_id(&UserRef::parse(o))
            .map_err(|_| EmuError::bad_request(format!("Unknown owner_user_id {o}")))?,
        None => c.user_id.max(ADMIN_USER_ID),
    };
    let id = world.add_room(
        &req.name,
        req.privacy.unwrap_or_default(),
        req.topic.as_deref().unwrap_or(""),
        req.guest_access.unwrap_or(false),
        owner,
    )?;
    Ok(created(serde_json::json!({
        "id": id,
        "links": {"self": s.url(&format!("room/{id}"))},
    })))
}

/// `DELETE /v2/room/{room}` → 204.
pub async fn delete(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(room): Path<String>,
) -> Result<StatusCode, EmuError> {
    c.require(&[Scope::ManageRooms])?;
    let mut world = s.world();
    let id = world.room_id(&RoomRef::parse(&room))?;
    world.rooms.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/room/{room}/statistics`.
pub async fn statistics(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(room): Path<String>,
) -> Result<Json<RoomStatistics>, EmuError> {
    c.require(&[Scope::ViewGroup])?;
    let mut world = s.world();
    let rec = world.room_mut(&RoomRef::parse(&room))?;
    Ok(Json(RoomStatistics {
        messages_sent: rec.history.len() as u64,
        last_active: rec.history.last().map(|m| m.date.clone()),
        links: Links {
            self_: Some(s.url(&format!("room/{}/statistics", rec.id))),
            ..Links::default()
        },
    }))
}
