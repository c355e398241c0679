//! Errors as HipChat sends them: a status and `{"error": {"code", "message", "type"}}`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hipchat::ApiError;
use hipchat::error::ErrorEnvelope;

/// An answer that ends a request early: an error, or a passed `auth_test` (202).
#[derive(Debug, Clone)]
pub struct EmuError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message for the envelope.
    pub message: String,
    /// Extra headers (rate-limit headers on 429s).
    pub headers: Box<HeaderMap>,
}

impl EmuError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Box::default(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401 for a missing token.
    pub fn no_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authenticated requests only. See https://www.hipchat.com/docs/apiv2/auth for more information.",
        )
    }

    /// 401 for an unknown token.
    pub fn bad_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Invalid OAuth session")
    }
}

impl From<hipchat::ValidationError> for EmuError {
    fn from(e: hipchat::ValidationError) -> Self {
        Self::bad_request(e.to_string())
    }
}

impl IntoResponse for EmuError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::ACCEPTED {
            let body = serde_json::json!({"success": {
                "code": 202, "type": "Accepted", "message": self.message,
            }});
            return (self.status, *self.headers, axum::Json(body)).into_response();
        }
        let body = ErrorEnvelope {
            error: ApiError::new(self.status.as_u16(), self.message),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.headers_mut().extend(*self.headers);
        resp
    }
}
