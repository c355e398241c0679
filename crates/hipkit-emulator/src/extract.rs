//! Request bodies as HipChat reads them: JSON only with `Content-Type: application/json`.

use crate::error::EmuError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// The raw body; a too-large or unreadable body becomes an enveloped error.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = EmuError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                let status = rejection.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "Request body is too large".to_owned()
                } else {
                    rejection.body_text()
                };
                EmuError::new(status, message)
            })
    }
}

/// Parses a JSON body after checking the content type, as HipChat does.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, EmuError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(EmuError::bad_request("Invalid content type"));
    }
    serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            "Malformed JSON"
        } else {
            "Invalid request body"
        };
        EmuError::bad_request(format!("{kind}: {e}"))
    })
}
