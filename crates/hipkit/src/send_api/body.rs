//! Parsing a JSON request body with the answers axum's `Json` extractor gives (415 not JSON,
//! 400 malformed, 422 wrong shape); the body itself is read by the deadline ([`TimedBody`]).
//!
//! [`TimedBody`]: hipkit_server::TimedBody

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use hipkit_server::ApiError;
use serde::de::DeserializeOwned;

/// Checks the content type and parses the body.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected request with `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let status = match e.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, format!("invalid JSON body: {e}"))
    })
}
