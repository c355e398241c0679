//! `/v2/user`: list, get, create.

use super::created;
use super::paging::PageParams;
use crate::auth::{Caller, query_pairs};
use crate::extract::HipChatJson;
use crate::state::{NewUser, Shared};
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use hipchat::{CreateUser, Scope, User, UserRef};
use hipkit_server::ApiError;

/// `GET /v2/user`.
pub async fn list(
    State(s): State<Shared>,
    c: Caller,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    c.require(&[Scope::ViewGroup])?;
    let paging = PageParams::parse(&query_pairs(uri.query()), 100)?;
    let users: Vec<User> = s
        .world()
        .users()
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
    c: Caller,
    Path(user): Path<String>,
) -> Result<Json<User>, ApiError> {
    c.require(&[Scope::ViewGroup])?;
    let world = s.world();
    let rec = world.find_user(&UserRef::parse(&user))?;
    Ok(Json(s.user_object(rec)))
}

/// `POST /v2/user` → 201.
pub async fn create(
    State(s): State<Shared>,
    HipChatJson { body: req, .. }: HipChatJson<CreateUser>,
) -> Result<Response, ApiError> {
    let mention = req
        .mention_name
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| req.name.split_whitespace().collect::<String>());
    let mut world = s.world();
    let id = world.add_user(NewUser {
        title: req.title.as_deref().unwrap_or(""),
        timezone: req.timezone.as_deref().unwrap_or("UTC"),
        ..NewUser::plain(
            &req.name,
            &mention,
            &req.email,
            req.is_group_admin.unwrap_or(false),
        )
    })?;
    let link = world.user(id).map(|u| s.user_link(u));
    drop(world);
    Ok(created(serde_json::json!({
        "id": id,
        "links": {"self": s.url(&format!("user/{id}"))},
        "entity": link,
    })))
}
