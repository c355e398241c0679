//! Room webhooks (id-based): create, list, get, delete.

use super::{PageParams, created};
use crate::auth::{Caller, query_pairs};
use crate::error::EmuError;
use crate::extract::{RawBody, parse_json};
use crate::state::Shared;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hipchat::{CreateWebhook, Links, RoomRef, Scope, Validate, Webhook};

/// `POST /v2/room/{room}/webhook` → 201.
pub async fn create(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(room): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, EmuError> {
    c.require(&[Scope::AdminRoom])?;
    let req: CreateWebhook = parse_json(&headers, &body)?;
    req.validate()?;
    let mut world = s.world();
    let room_id = world.room_id(&RoomRef::parse(&room))?;
    let id = world.next_webhook_id();
    let url = s.url(&format!("room/{room_id}/webhook/{id}"));
    let hook = Webhook {
        id,
        url: req.url,
        event: req.event,
        pattern: req.pattern,
        name: req.name,
        links: Links {
            self_: Some(url.clone()),
            ..Links::default()
        },
    };
    world
        .room_mut(&RoomRef::Id(room_id))?
        .webhooks
        .insert(id, hook);
    Ok(created(
        serde_json::json!({"id": id, "links": {"self": url}}),
    ))
}

/// `GET /v2/room/{room}/webhook`.
pub async fn list(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(room): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, EmuError> {
    c.require(&[Scope::AdminRoom])?;
    let paging = PageParams::parse(&query_pairs(uri.query()), 100)?;
    let hooks: Vec<Webhook> = s
        .world()
        .room_mut(&RoomRef::parse(&room))?
        .webhooks
        .values()
        .cloned()
        .collect();
    Ok(Json(paging.page(&s, &uri, hooks)).into_response())
}

/// `GET /v2/room/{room}/webhook/{id}`.
pub async fn get_one(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((room, id)): Path<(String, u64)>,
) -> Result<Json<Webhook>, EmuError> {
    c.require(&[Scope::AdminRoom])?;
    let mut world = s.world();
    let room = world.room_mut(&RoomRef::parse(&room))?;
    room.webhooks
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| EmuError::not_found("Webhook not found"))
}

/// `DELETE /v2/room/{room}/webhook/{id}` → 204.
pub async fn delete(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((room, id)): Path<(String, u64)>,
) -> Result<StatusCode, EmuError> {
    c.require(&[Scope::AdminRoom])?;
    let mut world = s.world();
    let room = world.room_mut(&RoomRef::parse(&room))?;
    room.webhooks
        .remove(&id)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| EmuError::not_found("Webhook not found"))
}
