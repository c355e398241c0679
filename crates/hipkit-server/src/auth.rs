//! Bearer-token authentication for protected routes.

use crate::ApiError;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Wraps `routes` so each request must carry `Authorization: Bearer <token>`; with no token
/// configured the routes stay open.
pub fn require_token(routes: Router, token: Option<hipchat::Token>) -> Router {
    match token {
        Some(token) => routes.layer(middleware::from_fn_with_state(Arc::new(token), check)),
        None => routes,
    }
}

async fn check(State(expected): State<Arc<hipchat::Token>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(hipchat::Credentials::bearer)
        .unwrap_or("");
    if expected.matches(given.as_bytes()) {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}
