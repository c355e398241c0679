//! [`TimedBody`]: a request body read by the request's deadline and within the body limit,
//! for handlers that answer by the deadline themselves.

use crate::{ApiError, RequestDeadline};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

/// The body limit `Server` stamps on every request (`[serve] max_body_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyLimit(pub usize);

/// The whole body, read by the [`RequestDeadline`]: a body that has not arrived by then is a
/// 408 (nothing was done), one over the limit a 413.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for TimedBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        Self::read(&parts, body).await.map(Self)
    }
}

impl TimedBody {
    /// Reads `body` by the deadline and within the limit stamped in `parts`, for a handler
    /// that takes the request apart itself (and keeps its headers without copying them).
    pub async fn read(parts: &Parts, body: Body) -> Result<Bytes, ApiError> {
        let RequestDeadline(deadline) = RequestDeadline::of(parts);
        let limit = parts
            .extensions
            .get::<BodyLimit>()
            .map_or(crate::ServerConfig::default().max_body_bytes, |l| l.0);
        match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, limit)).await {
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time; nothing was done",
            )),
            Ok(Err(e)) => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {limit} bytes or could not be read: {e}"),
            )),
            Ok(Ok(bytes)) => Ok(bytes),
        }
    }
}
