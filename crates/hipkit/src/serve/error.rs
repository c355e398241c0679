//! Errors as `{"error": {"code", "type", "message"}}`, the shape HipChat uses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hipchat::error::ErrorEnvelope;
use hipkit_transport::TransportError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// Any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a valid `Authorization: Bearer` API token is required",
        )
    }

    /// 503.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl From<TransportError> for ApiError {
    fn from(e: TransportError) -> Self {
        let status = match &e {
            TransportError::Invalid(_) => StatusCode::BAD_REQUEST,
            TransportError::HipChat(_) => StatusCode::BAD_GATEWAY,
            TransportError::Store(_) | TransportError::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            TransportError::Io { .. } | TransportError::Encode(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: hipchat::ApiError::new(self.status.as_u16(), self.message),
        };
        (self.status, axum::Json(body)).into_response()
    }
}
