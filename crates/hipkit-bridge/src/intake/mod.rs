//! The intake: HipChat's API on the bridge's own listener, under `hipkit-server`'s plumbing
//! (body limit and deadline, HipChat's error envelope, the Host check in the connection
//! layer). Every accepted call is committed to the outbox before it is answered.

mod caller;
mod queue;
mod v1;
mod v2;

use crate::accepted::Accepted;
use crate::directory::{Directory, Room};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router, middleware};
use hipchat::Scope;
use hipkit_server::hipchat_api::{query_pairs, raw_token};
use hipkit_server::rate::{TOKEN_LIMIT, TOKEN_WINDOW_SECS, Windows};
use hipkit_server::{ApiError, BodyLimit, envelope_errors, stamp_deadline};
use hipkit_transport::outbox::Outbox;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// What the intake's handlers share.
#[derive(Debug)]
pub struct Intake {
    /// Rooms, users, tokens.
    pub directory: Directory,
    /// Where accepted calls are committed.
    pub outbox: Outbox,
    /// The base URL of room links (`[bridge] public_url`, else the listener's).
    pub base: String,
    /// Requests per token in HipChat's windows, for the `X-Ratelimit-*` headers.
    pub windows: Windows,
    /// The destinations that take file uploads: only their parcels carry a file's bytes.
    pub uploads: HashSet<String>,
}

impl Intake {
    /// The caller of a v2 request (401 otherwise), holding one of `any_of` (403; 202 for
    /// `auth_test`).
    fn caller(&self, parts: &Parts, any_of: &[Scope]) -> Result<caller::Caller<'_>, ApiError> {
        let caller = caller::Caller::of(&self.directory, parts)?;
        caller.require(any_of)?;
        Ok(caller)
    }

    /// Commits `accepted` for each destination of `room`, in its lanes.
    async fn queue_room(&self, room: &Room, accepted: &Accepted) -> Result<(), ApiError> {
        let to = format!("room:{}", room.name);
        queue::commit(&self.outbox, &to, &room.to, accepted, &self.uploads).await
    }
}

/// Counts the request against its token's window and answers HipChat's `X-Ratelimit-*`
/// headers: HipChat's documented limit, reported but not enforced (the outbox absorbs
/// bursts; the destinations' own limits are the couriers' to honour).
async fn rate_headers(State(intake): State<Arc<Intake>>, req: Request, next: Next) -> Response {
    let query = query_pairs(req.uri().query());
    let key = raw_token(req.headers(), &query)
        .and_then(|raw| intake.directory.token(&raw))
        .map_or_else(|| "anonymous".to_owned(), |t| t.label.clone());
    let mut response = next.run(req).await;
    intake
        .windows
        .count(&key, TOKEN_LIMIT, TOKEN_WINDOW_SECS, false)
        .write_headers("ratelimit", response.headers_mut());
    response
}

/// HipChat's envelope for any path the bridge does not serve.
async fn not_found() -> ApiError {
    ApiError::not_found("Resource not found")
}

/// The intake's app: its routes under the body limit (`max_file` for shared files) and
/// deadline, errors in HipChat's envelope.
pub fn router(
    intake: Arc<Intake>,
    max_body: usize,
    max_file: usize,
    body_deadline: Duration,
) -> Router {
    let file_limit = (
        DefaultBodyLimit::max(max_file),
        Extension(BodyLimit(max_file)),
    );
    Router::new()
        .route("/v2/room", get(v2::list_rooms))
        .route("/v2/room/{room}", get(v2::get_room))
        .route("/v2/room/{room}/notification", post(v2::notification))
        .route("/v2/room/{room}/message", post(v2::room_message))
        .route(
            "/v2/room/{room}/share/file",
            post(v2::share_file).layer(file_limit),
        )
        .route("/v2/user/{user}", get(v2::get_user))
        .route("/v2/user/{user}/message", post(v2::private_message))
        .route("/v1/rooms/message", post(v1::rooms_message))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            body_deadline,
            stamp_deadline,
        ))
        .layer(Extension(BodyLimit(max_body)))
        .layer(middleware::from_fn(envelope_errors))
        .layer(middleware::from_fn_with_state(intake.clone(), rate_headers))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(intake)
}
