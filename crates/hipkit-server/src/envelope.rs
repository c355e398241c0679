//! The last word on errors: any error answer that is not JSON yet (an extractor's rejection,
//! a path-parameter rejection such as `%ff`, a bare status, the router's own 405) becomes
//! HipChat's JSON envelope, keeping its status, its text and its headers (`Allow` on a 405,
//! `Retry-After`, `WWW-Authenticate`).

use crate::ApiError;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest rejection text carried over into the envelope's message; a longer one is
/// replaced by the reason phrase (rejection texts are a line, this bounds the copy).
const MAX_TEXT: usize = 4096;

/// Middleware (`axum::middleware::from_fn`): runs the request and envelopes an error answer
/// that is not JSON yet.
pub async fn envelope_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let response = next.run(req).await;
    if !needs_envelope(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let mut error = ApiError::new(parts.status, describe(parts.status, &method, text));
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    *error.headers_mut() = headers;
    error.into_response()
}

fn needs_envelope(response: &Response) -> bool {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    (status.is_client_error() || status.is_server_error()) && !is_json
}

/// The envelope's message: the refused method for a 405, the rejection's own text, or the
/// reason phrase.
fn describe(status: StatusCode, method: &Method, text: String) -> String {
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return format!("Method not allowed: {method} (the Allow header lists what is)");
    }
    if !text.is_empty() {
        return text;
    }
    status.canonical_reason().unwrap_or("Error").to_owned()
}
