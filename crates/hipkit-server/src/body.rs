//! [`TimedBody`]: a request body read by the request's deadline and within the body limit,
//! for handlers that answer by the deadline themselves.

use crate::{ApiError, RequestDeadline};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The largest body [`TimedBody`] reads. `Server` stamps `[serve] max_body_bytes` on every
/// request; a router served on its own stamps its own (`.layer(Extension(BodyLimit(n)))`,
/// per route for a larger limit on some).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// The whole body, read by the [`RequestDeadline`]: a body that has not arrived by then is a
/// 408 with `Connection: close` (nothing was done; the rest of the body is never read), one
/// over the [`BodyLimit`] a 413, one that breaks off a 400.
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
        let read = Limited::new(body, limit).collect();
        match tokio::time::timeout_at(deadline, read).await {
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "The request body did not arrive in time; nothing was done",
            )
            .with_header(header::CONNECTION, HeaderValue::from_static("close"))),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body is too large (over {limit} bytes)"),
            )),
            Ok(Err(e)) => Err(ApiError::bad_request(format!(
                "The request body could not be read: {e}"
            ))),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
        }
    }
}
