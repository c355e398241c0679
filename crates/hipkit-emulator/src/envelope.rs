//! The last word on errors: any error answer that is not already HipChat's JSON envelope
//! (axum's own 405s, path-parameter rejections such as `%ff` in a room name, bare
//! statuses) becomes one, keeping its status and headers (`Allow` on a 405).

use crate::error::EmuError;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest rejection text carried over into the envelope's message.
const MAX_TEXT: usize = 4096;

/// Runs the request and envelopes an error answer that is not JSON yet.
pub async fn ensure(req: Request, next: Next) -> Response {
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
    let mut headers = parts.headers;
    let message = describe(parts.status, &method, text);
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    let mut err = EmuError::new(parts.status, message);
    err.headers = Box::new(headers);
    err.into_response()
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

/// The envelope's message: the refused method for a 405 (the router adds `Allow` after
/// this layer), the rejection's own text, or the reason phrase.
fn describe(status: StatusCode, method: &Method, text: String) -> String {
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return format!("Method not allowed: {method} (the Allow header lists what is)");
    }
    if !text.is_empty() {
        return text;
    }
    status.canonical_reason().unwrap_or("Error").to_owned()
}
