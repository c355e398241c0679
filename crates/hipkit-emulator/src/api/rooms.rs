//! `/v2/room`: list, get, create, delete, statistics, topic, members, participants.

use super::created;
use super::paging::{PageParams, flag};
use crate::auth::{Caller, query_pairs};
use crate::extract::HipChatJson;
use crate::state::{ADMIN_USER_ID, NewRoom, Shared, version_tag};
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipchat::{
    CreateRoom, Links, Privacy, Room, RoomRef, RoomStatistics, Scope, SetTopic, UserLink, UserRef,
};
use hipkit_server::ApiError;

/// `GET /v2/room`.
pub async fn list(
    State(s): State<Shared>,
    c: Caller,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    c.require(&[Scope::ViewGroup, Scope::ViewRoom])?;
    let query = query_pairs(uri.query());
    let paging = PageParams::parse(&query, 100)?;
    let include_private = flag(&query, "include-private", true)?;
    flag(&query, "include-archived", false)?;
    let rooms: Vec<Room> = s
        .world()
        .rooms()
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
    c: Caller,
    Path(room): Path<String>,
) -> Result<Response, ApiError> {
    c.require(&[Scope::ViewGroup, Scope::ViewRoom])?;
    let world = s.world();
    let rec = world.room(&RoomRef::parse(&room))?;
    Ok(Json(s.room_object(&world, rec)).into_response())
}

/// `POST /v2/room` → 201 `{"id", "links"}`.
pub async fn create(
    State(s): State<Shared>,
    HipChatJson { caller, body: req }: HipChatJson<CreateRoom>,
) -> Result<Response, ApiError> {
    let mut world = s.world();
    let owner = match req.owner_user_id.as_deref() {
        Some(o) => {
            world
                .find_user(&UserRef::parse(o))
                .map_err(|_| ApiError::bad_request(format!("Unknown owner_user_id {o}")))?
                .id
        }
        None => caller.user_id.max(ADMIN_USER_ID),
    };
    let id = world.add_room(NewRoom {
        name: &req.name,
        privacy: req.privacy.unwrap_or_default(),
        topic: req.topic.as_deref().unwrap_or(""),
        guest_access: req.guest_access.unwrap_or(false),
        owner,
    })?;
    drop(world);
    Ok(created(serde_json::json!({
        "id": id,
        "links": {"self": s.url(&format!("room/{id}"))},
    })))
}

/// `DELETE /v2/room/{room}` → 204.
pub async fn delete(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiError> {
    c.require(&[Scope::ManageRooms])?;
    s.world().delete_room(&RoomRef::parse(&room))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/room/{room}/statistics`.
pub async fn statistics(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
) -> Result<Json<RoomStatistics>, ApiError> {
    c.require(&[Scope::ViewGroup])?;
    let world = s.world();
    let rec = world.room(&RoomRef::parse(&room))?;
    Ok(Json(RoomStatistics {
        messages_sent: rec.history.pushed(),
        last_active: rec.history.last().map(|m| m.date.clone()),
        links: Links {
            self_: Some(s.url(&format!("room/{}/statistics", rec.id))),
            ..Links::default()
        },
    }))
}

/// `PUT /v2/room/{room}/topic` → 204.
pub async fn set_topic(
    State(s): State<Shared>,
    Path(room): Path<String>,
    HipChatJson { body, .. }: HipChatJson<SetTopic>,
) -> Result<StatusCode, ApiError> {
    s.world().set_topic(&RoomRef::parse(&room), &body.topic)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/room/{room}/member`: a paged list of the room's members. The emulator keeps no
/// membership lists, so the owner is the one member.
pub async fn members(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    c.require(&[Scope::ViewGroup, Scope::ViewRoom])?;
    let paging = PageParams::parse(&query_pairs(uri.query()), 100)?;
    let world = s.world();
    let rec = world.room(&RoomRef::parse(&room))?;
    let users: Vec<UserLink> = world
        .user(rec.owner)
        .map(|u| s.user_link(u))
        .into_iter()
        .collect();
    Ok(Json(paging.page(&s, &uri, users)).into_response())
}

/// `GET /v2/room/{room}/participant`: a paged list of who is in the room now; nobody is
/// connected to the emulator over XMPP, so it is empty.
pub async fn participants(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    c.require(&[Scope::ViewGroup, Scope::ViewRoom])?;
    let query = query_pairs(uri.query());
    let paging = PageParams::parse(&query, 100)?;
    flag(&query, "include-offline", false)?;
    s.world().room(&RoomRef::parse(&room))?;
    Ok(Json(paging.page::<UserLink>(&s, &uri, Vec::new())).into_response())
}
