//! `/v2/user`: list, get, create.

use super::{PageParams, created};
use crate::auth::{Caller, query_pairs};
use crate::error::EmuError;
use crate::extract::{RawBody, parse_json};
use crate::state::Shared;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hipchat::{CreateUser, Scope, User, UserRef, Validate};

/// `GET /v2/user`.
pub async fn list(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, EmuError> {
    c.require(&[Scope::ViewGroup])?;
    let paging = PageParams::parse(&query_pairs(uri.query()), 100)?;
    let users: Vec<User> = s
        .world()
        .users
        .values()
        .map(|u| {
            let full = s.user_object(u);
            User {
                email: None,
                title: None,
                xmpp_jid: None,
                is_deleted: None,
                is_group_admin: None,
                is_guest: None,
                timezone: None,
                created: None,
                presence: None,
                ..full
            }
        })
        .collect();
    Ok(Json(paging.page(&s, &uri, users)).into_response())
}

/// `GET /v2/user/{id_or_email_or_@mention}`.
pub async fn get_one(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(user): Path<String>,
) -> Result<Json<User>, EmuError> {
    c.require(&[Scope::ViewGroup])?;
    let world = s.world();
    let id = world.user_id(&UserRef::parse(&user))?;
    let rec = world
        .users
        .get(&id)
        .ok_or_else(|| EmuError::not_found("User not found"))?;
    Ok(Json(s.user_object(rec)))
}

/// `POST /v2/user` → 201.
pub async fn create(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, EmuError> {
    c.require(&[Scope::AdminGroup])?;
    let req: CreateUser = parse_json(&headers, &body)?;
    req.validate()?;
    let mention = req
        .mention_name
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| req.name.split_whitespace().collect::<String>());
    let mut world = s.world();
    let id = world.add_user(
        &req.name,
        &mention,
        &req.email,
        req.is_group_admin.unwrap_or(false),
    )?;
    if let Some(u) = world.users.get_mut(&id) {
        u.title = req.title.clone().unwrap_or_default();
        u.timezone = req.timezone.clone().unwrap_or_else(|| "UTC".into());
    }
    let link = world.users.get(&id).map(|u| s.user_link(u));
    Ok(created(serde_json::json!({
        "id": id,
        "links": {"self": s.url(&format!("user/{id}"))},
        "entity": link,
    })))
}
