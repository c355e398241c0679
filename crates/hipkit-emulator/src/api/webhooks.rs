//! Room webhooks (id-based): create, list, get, delete.

use super::created;
use super::paging::PageParams;
use crate::auth::{Caller, query_pairs};
use crate::extract::HipChatJson;
use crate::state::Shared;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipchat::{CreateWebhook, Links, RoomRef, Scope, Webhook};
use hipkit_server::ApiError;

/// `POST /v2/room/{room}/webhook` → 201.
pub async fn create(
    State(s): State<Shared>,
    Path(room): Path<String>,
    HipChatJson { body: req, .. }: HipChatJson<CreateWebhook>,
) -> Result<Response, ApiError> {
    let hook = register(&s, &RoomRef::parse(&room), req)?;
    Ok(created(
        serde_json::json!({"id": hook.id, "links": {"self": hook.links.self_}}),
    ))
}

/// Registers a (validated) webhook on a room: the API's and the web UI's one way in. A URL
/// that names the emulator itself is refused: a call to its own UI or control API would
/// act with the emulator's authority.
pub fn register(s: &Shared, room: &RoomRef, req: CreateWebhook) -> Result<Webhook, ApiError> {
    if targets_self(&s.base, &req.url) {
        return Err(ApiError::bad_request(
            "A webhook cannot call the emulator itself (its own address and port)",
        ));
    }
    s.world().register_webhook(room, |id, room_id| Webhook {
        id,
        url: req.url,
        event: req.event,
        pattern: req.pattern,
        name: req.name,
        authentication: req.authentication,
        links: Links {
            self_: Some(s.url(&format!("room/{room_id}/webhook/{id}"))),
            ..Links::default()
        },
    })
}

/// Whether `target` reaches the emulator at `base`: the same port on its own host, a
/// loopback address, an unspecified address or a `localhost` name.
fn targets_self(base: &str, target: &str) -> bool {
    let (Ok(base), Ok(target)) = (url::Url::parse(base), url::Url::parse(target)) else {
        return false;
    };
    if base.port_or_known_default() != target.port_or_known_default() {
        return false;
    }
    let ip_is_local = |ip: std::net::IpAddr| {
        let ip = ip.to_canonical();
        ip.is_loopback() || ip.is_unspecified()
    };
    match target.host() {
        Some(url::Host::Ipv4(ip)) => ip_is_local(ip.into()) || base.host() == target.host(),
        Some(url::Host::Ipv6(ip)) => ip_is_local(ip.into()) || base.host() == target.host(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// `GET /v2/room/{room}/webhook`.
pub async fn list(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    c.require(&[Scope::AdminRoom])?;
    let paging = PageParams::parse(&query_pairs(uri.query()), 100)?;
    let hooks: Vec<Webhook> = s
        .world()
        .room(&RoomRef::parse(&room))?
        .webhooks
        .values()
        .cloned()
        .collect();
    Ok(Json(paging.page(&s, &uri, hooks)).into_response())
}

/// `GET /v2/room/{room}/webhook/{id}`.
pub async fn get_one(
    State(s): State<Shared>,
    c: Caller,
    Path((room, id)): Path<(String, u64)>,
) -> Result<Json<Webhook>, ApiError> {
    c.require(&[Scope::AdminRoom])?;
    s.world()
        .room(&RoomRef::parse(&room))?
        .webhooks
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("Webhook not found"))
}

/// `DELETE /v2/room/{room}/webhook/{id}` → 204.
pub async fn delete(
    State(s): State<Shared>,
    c: Caller,
    Path((room, id)): Path<(String, u64)>,
) -> Result<StatusCode, ApiError> {
    c.require(&[Scope::AdminRoom])?;
    s.world().delete_webhook(&RoomRef::parse(&room), id)?;
    Ok(StatusCode::NO_CONTENT)
}
