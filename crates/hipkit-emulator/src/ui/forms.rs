//! What the UI's forms change: post from the composer, clear a room, delete a message, add
//! a token, register or remove a webhook, add or clear fault rules. Every change goes through
//! the same `World` methods as the API (so a composer message fires webhooks like
//! `POST /v2/room/{room}/message`). Forms from another site are refused (403), since the
//! UI has no login.

use super::admin::tokens_page;
use super::pages::{mark_read as mark, room_id};
use super::{Ui, UiError};
use crate::faults::{FaultAction, FaultRule};
use crate::state::random_token;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hipchat::{
    CreateWebhook, HistoryFrom, MessageFormat, MessageType, RoomMessage, RoomRef, Scope, Validate,
};
use hipkit_server::ApiError;

/// A submitted form's fields, in order.
pub struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &Bytes) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field, trimmed; empty counts as absent.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("`{name}` is required")))
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!("`{name}` must be a number, not `{v}`"))
                })
            })
            .transpose()
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Refuses a form not posted by this emulator's own pages: the UI has no login, so a page
/// elsewhere (or a webhook call, which sends no `Origin`) must not be able to drive it. A
/// post must carry an `Origin` naming this host; a browser's `Sec-Fetch-Site`, when sent,
/// must say same-origin.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let forbidden = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Forms are accepted from this emulator's own pages only (same-origin, with an Origin header)",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(forbidden());
    }
    if hipkit_server::origin_is_own(headers) != Some(true) {
        return Err(forbidden());
    }
    Ok(())
}

/// A form posted from the UI's own pages, parsed.
pub struct Posted(Form);

impl FromRequest<Ui> for Posted {
    type Rejection = UiError;

    async fn from_request(req: Request, ui: &Ui) -> Result<Self, Self::Rejection> {
        same_origin(req.headers())?;
        let body = Bytes::from_request(req, ui)
            .await
            .map_err(|r| ApiError::new(r.status(), r.body_text()))?;
        Ok(Posted(Form::parse(&body)))
    }
}

/// A body-less post (a button) from the UI's own pages.
pub struct SameOrigin;

impl FromRequestParts<Ui> for SameOrigin {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _: &Ui) -> Result<Self, Self::Rejection> {
        same_origin(&parts.headers)?;
        Ok(SameOrigin)
    }
}

/// Back to a page after a change (`303`, so a reload does not post again).
fn back(to: String) -> Response {
    Redirect::to(&to).into_response()
}

/// `POST /rooms/{id}/messages`: posts as the chosen user, through the API's path.
pub async fn compose(
    State(ui): State<Ui>,
    Path(id): Path<String>,
    Posted(form): Posted,
) -> Result<Response, UiError> {
    let message = RoomMessage {
        message: form.required("message")?.to_owned(),
    };
    message.validate()?;
    let user: u64 = form
        .number("user")?
        .ok_or_else(|| ApiError::bad_request("`user` is required"))?;
    let mut world = ui.shared.world();
    let room = room_id(&world, &id)?;
    let sender = world
        .user(user)
        .map(|u| ui.shared.user_link(u))
        .ok_or_else(|| ApiError::bad_request(format!("no user with id {user}")))?;
    let mut entry = crate::api::messages::item(
        HistoryFrom::User(sender),
        message.message,
        MessageType::Message,
    );
    entry.message_format = Some(MessageFormat::Text);
    world.post_room_message(room, entry)?;
    drop(world);
    Ok(back(format!("/rooms/{room}")))
}

/// Applies `change` to the room named by `id` (a form's room), then back to its page.
fn change_room(
    ui: &Ui,
    id: &str,
    change: impl FnOnce(&mut crate::state::World, u64) -> Result<(), ApiError>,
) -> Result<Response, UiError> {
    let room = {
        let mut world = ui.shared.world();
        let room = room_id(&world, id)?;
        change(&mut world, room)?;
        room
    };
    Ok(back(format!("/rooms/{room}")))
}

/// `POST /rooms/{id}/clear`: removes every message of the room.
pub async fn clear_room(
    State(ui): State<Ui>,
    Path(id): Path<String>,
    _: SameOrigin,
) -> Result<Response, UiError> {
    change_room(&ui, &id, |world, room| {
        world.clear_room(&RoomRef::Id(room)).map(|_| ())
    })
}

/// `POST /rooms/{id}/messages/{message}/delete`: removes one message.
pub async fn delete_message(
    State(ui): State<Ui>,
    Path((id, message)): Path<(String, String)>,
    _: SameOrigin,
) -> Result<Response, UiError> {
    change_room(&ui, &id, |world, room| {
        world.delete_message(&RoomRef::Id(room), &message)
    })
}

/// `POST /rooms/{id}/read`: the page is left; what it showed counts as read.
pub async fn mark_read(
    State(ui): State<Ui>,
    Path(id): Path<String>,
    _: SameOrigin,
) -> Result<StatusCode, UiError> {
    let room = room_id(&ui.shared.world(), &id)?;
    mark(&ui, room);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /tokens`: a new random token with a label and scopes, shown once on the answer.
pub async fn add_token(State(ui): State<Ui>, Posted(form): Posted) -> Result<Response, UiError> {
    let label = form.required("label")?.to_owned();
    if label.chars().count() > 100 {
        return Err(ApiError::bad_request("`label` must be at most 100 characters").into());
    }
    let scopes = form
        .all("scope")
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(ApiError::bad_request("choose at least one scope").into());
    }
    let token = random_token()?;
    {
        let mut world = ui.shared.world();
        if world.has_token_label(&label) {
            return Err(ApiError::bad_request(format!("a token labelled `{label}` exists")).into());
        }
        world.add_token(&token, &label, &scopes);
    }
    tokens_page(&ui, Some((label, token)))
}

/// `POST /webhooks`: registers a webhook on a room, as `POST /v2/room/{room}/webhook` does.
pub async fn add_webhook(State(ui): State<Ui>, Posted(form): Posted) -> Result<Response, UiError> {
    let room: u64 = form
        .number("room")?
        .ok_or_else(|| ApiError::bad_request("`room` is required"))?;
    let event = serde_json::from_value(serde_json::Value::from(form.required("event")?))
        .map_err(|_| ApiError::bad_request("`event` is not a webhook event"))?;
    let req = CreateWebhook {
        url: form.required("url")?.to_owned(),
        event,
        pattern: form.get("pattern").map(str::to_owned),
        name: form.get("name").map(str::to_owned),
        authentication: form.get("authentication").map(str::to_owned),
    };
    req.validate()?;
    crate::api::webhooks::register(&ui.shared, &RoomRef::Id(room), req)?;
    Ok(back("/webhooks".into()))
}

/// `POST /webhooks/{room}/{id}/delete`.
pub async fn delete_webhook(
    State(ui): State<Ui>,
    Path((room, id)): Path<(u64, u64)>,
    _: SameOrigin,
) -> Result<Response, UiError> {
    ui.shared.world().delete_webhook(&RoomRef::Id(room), id)?;
    Ok(back("/webhooks".into()))
}

/// `POST /faults`: adds a rule, as `POST /_emulator/faults` does.
pub async fn add_fault(State(ui): State<Ui>, Posted(form): Posted) -> Result<Response, UiError> {
    let action = match form.required("action")? {
        "status" => FaultAction::Status {
            status: form
                .number("status")?
                .ok_or_else(|| ApiError::bad_request("`status` is required for a status fault"))?,
            message: form.get("message").map(str::to_owned),
            reset_in: form.number("reset_in")?,
        },
        "delay" => FaultAction::Delay {
            delay_ms: form
                .number("delay_ms")?
                .ok_or_else(|| ApiError::bad_request("`delay_ms` is required for a delay"))?,
        },
        "drop" => FaultAction::Drop,
        other => {
            return Err(ApiError::bad_request(format!(
                "`action` must be status, delay or drop, not `{other}`"
            ))
            .into());
        }
    };
    let rule = FaultRule {
        id: 0,
        method: form.get("method").map(str::to_ascii_uppercase),
        path: form.get("path").map(str::to_owned),
        times: form.number("times")?.unwrap_or(1),
        action,
    };
    rule.check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    ui.shared.world().add_fault(rule);
    Ok(back("/faults".into()))
}

/// `POST /faults/clear`: removes every rule.
pub async fn clear_faults(State(ui): State<Ui>, _: SameOrigin) -> Result<Response, UiError> {
    ui.shared.world().clear_faults();
    Ok(back("/faults".into()))
}
