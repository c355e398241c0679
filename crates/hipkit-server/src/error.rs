//! Errors as `{"error": {"code", "type", "message"}}`, the shape HipChat uses.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hipchat::error::ErrorEnvelope;

/// An answer that ends a request early: an error, rendered as HipChat's JSON envelope with
/// any extra headers it carries (`Retry-After`, rate-limit headers); or, with a 2xx status,
/// HipChat's `{"success": {...}}` form (the 202 of an `auth_test` request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Boxed and optional: most errors carry none, and a `Result` stays small.
    headers: Option<Box<HeaderMap>>,
}

impl ApiError {
    /// An answer with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: nothing by that name.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401: the API token is missing or wrong.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a valid `Authorization: Bearer` API token is required",
        )
    }

    /// 503: a dependency (the store, HipChat) cannot serve now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: a fault of ours.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers_mut().insert(name, value);
        self
    }

    /// The extra headers sent with the answer.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers.get_or_insert_with(Box::default)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<hipchat::ValidationError> for ApiError {
    /// 400 with the broken rule.
    fn from(e: hipchat::ValidationError) -> Self {
        Self::bad_request(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = if self.status.is_success() {
            let body = serde_json::json!({"success": {
                "code": self.status.as_u16(),
                "type": self.status.canonical_reason().unwrap_or("Success"),
                "message": self.message,
            }});
            (self.status, axum::Json(body)).into_response()
        } else {
            let body = ErrorEnvelope {
                error: hipchat::ApiError::new(self.status.as_u16(), self.message),
            };
            (self.status, axum::Json(body)).into_response()
        };
        if let Some(headers) = self.headers {
            response.headers_mut().extend(*headers);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn rendered(error: ApiError) -> (StatusCode, HeaderMap, serde_json::Value) {
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 4096).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn errors_render_as_the_envelope_with_their_headers() {
        let error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow down").with_header(
            HeaderName::from_static("retry-after"),
            HeaderValue::from_static("5"),
        );
        let (status, headers, body) = rendered(error).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "5");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": 429, "type": "Too Many Requests", "message": "slow down"}})
        );
    }

    #[tokio::test]
    async fn a_success_ending_a_request_early_renders_as_success() {
        let (status, _, body) = rendered(ApiError::new(StatusCode::ACCEPTED, "has access")).await;
        assert_eq!(status, 202);
        assert_eq!(
            body,
            serde_json::json!({"success": {"code": 202, "type": "Accepted", "message": "has access"}})
        );
    }
}
