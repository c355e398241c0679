//! The `/v2` API: routing behind the gate (auth, rate limits, faults, request log).

mod files;
mod gate;
mod history;
pub(crate) mod messages;
mod paging;
mod rooms;
mod users;
pub(crate) mod v1;
pub(crate) mod webhooks;

pub use gate::capabilities;
pub use messages::notification_item;

use crate::auth::Caller;
use crate::config::EmulatorConfig;
use crate::state::{Shared, World};
use axum::Extension;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hipkit_server::ApiError;
use hipkit_server::BodyLimit;

/// The `/v2` routes; `/capabilities` is the only one outside the gate.
pub fn router(shared: Shared, config: &EmulatorConfig) -> Router<Shared> {
    let file_limit = (
        DefaultBodyLimit::max(config.max_file),
        Extension(BodyLimit(config.max_file)),
    );
    Router::new()
        .route("/room", get(rooms::list).post(rooms::create))
        .route("/room/{room}", get(rooms::get_one).delete(rooms::delete))
        .route("/room/{room}/statistics", get(rooms::statistics))
        .route("/room/{room}/topic", put(rooms::set_topic))
        .route("/room/{room}/member", get(rooms::members))
        .route("/room/{room}/participant", get(rooms::participants))
        .route("/room/{room}/notification", post(messages::notification))
        .route("/room/{room}/message", post(messages::room_message))
        .route(
            "/room/{room}/share/file",
            post(files::share_with_room).layer(file_limit),
        )
        .route("/room/{room}/history", get(history::room))
        .route("/room/{room}/history/latest", get(history::room_latest))
        .route(
            "/room/{room}/webhook",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/room/{room}/webhook/{id}",
            get(webhooks::get_one).delete(webhooks::delete),
        )
        .route("/user", get(users::list).post(users::create))
        .route("/user/{user}", get(users::get_one))
        .route("/user/{user}/message", post(messages::private_message))
        .route(
            "/user/{user}/share/file",
            post(files::share_with_user).layer(file_limit),
        )
        .route("/user/{user}/history/latest", get(history::private_latest))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared, gate::gate))
        .route("/capabilities", get(gate::capabilities))
}

/// HipChat's envelope for any path nothing serves (the whole app answers unknown paths so).
pub async fn not_found() -> ApiError {
    ApiError::not_found("Resource not found")
}

/// 201 with a JSON body.
fn created(body: serde_json::Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The caller's user as a message sender.
fn sender(s: &Shared, world: &World, caller: &Caller) -> hipchat::HistoryFrom {
    match world.user(caller.user_id) {
        Some(u) => hipchat::HistoryFrom::User(s.user_link(u)),
        None => hipchat::HistoryFrom::Label(caller.label.clone()),
    }
}
