//! Reading a JSON request body by the request's deadline, with the answers axum's `Json`
//! extractor gives (415 not JSON, 413 too large, 400 malformed, 422 wrong shape).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use hipkit_server::ApiError;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

/// Reads and parses the body; a body that has not arrived by `deadline` is a 408.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
    deadline: Instant,
) -> Result<T, ApiError> {
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
    let bytes = match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, max_bytes)).await
    {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time; nothing was stored",
            ));
        }
        Ok(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {max_bytes} bytes or could not be read: {e}"),
            ));
        }
        Ok(Ok(bytes)) => bytes,
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        let status = match e.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, format!("invalid JSON body: {e}"))
    })
}
