//! Request bodies as HipChat reads them: the raw body within the size limit, then (for
//! JSON endpoints) the caller's scope, `Content-Type: application/json`, parsing and
//! validation, each failure answered with HipChat's error envelope.

use crate::auth::Caller;
use crate::error::EmuError;
use crate::state::Shared;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use hipchat::{
    CreateRoom, CreateUser, CreateWebhook, PrivateMessage, RoomMessage, RoomNotification, Scope,
    Validate,
};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The raw body; a too-large, unreadable or late body becomes an enveloped error (413 when
/// too large, 408 with `Connection: close` when it does not arrive within the body read
/// timeout).
pub struct RawBody(pub Bytes);

impl FromRequest<Shared> for RawBody {
    type Rejection = EmuError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, Self::Rejection> {
        let limit = s.body_read_timeout;
        let read = tokio::time::timeout(limit, Bytes::from_request(req, s))
            .await
            .map_err(|_| late_body(limit))?;
        read.map(RawBody).map_err(|rejection| {
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

/// 408 for a body that did not arrive in time; the rest of it is never read, so the
/// connection closes.
fn late_body(limit: Duration) -> EmuError {
    let mut err = EmuError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "The request body did not arrive within {} s",
            limit.as_secs()
        ),
    );
    err.headers
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    err
}

/// A JSON request body: who may send it and what makes it acceptable.
pub trait JsonBody: DeserializeOwned {
    /// The caller needs one of these scopes.
    const SCOPES: &'static [Scope];

    /// Checks the parsed body (HipChat's limits for API bodies); 400 on failure.
    fn check(&self) -> Result<(), EmuError>;
}

/// HipChat API bodies: validated by the `hipchat` crate's rules, the client's own.
macro_rules! hipchat_bodies {
    ($($body:ty => $scope:ident),+ $(,)?) => {$(
        impl JsonBody for $body {
            const SCOPES: &'static [Scope] = &[Scope::$scope];

            fn check(&self) -> Result<(), EmuError> {
                Ok(self.validate()?)
            }
        }
    )+};
}

hipchat_bodies!(
    RoomNotification => SendNotification,
    RoomMessage => SendMessage,
    PrivateMessage => SendMessage,
    CreateRoom => ManageRooms,
    CreateWebhook => AdminRoom,
    CreateUser => AdminGroup,
);

/// A body read, authorised, parsed and checked, in the order HipChat answers: 413 for a
/// too-large body, 401/403 (or 202 for `auth_test`), 400 for the content type, malformed
/// JSON, a wrong shape or a broken limit.
pub struct HipChatJson<T> {
    /// Who sent it.
    pub caller: Caller,
    /// The accepted body.
    pub body: T,
}

impl<T: JsonBody> FromRequest<Shared> for HipChatJson<T> {
    type Rejection = EmuError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let caller = Caller::from_request_parts(&mut parts, s).await;
        let headers = parts.headers.clone();
        let RawBody(raw) = RawBody::from_request(Request::from_parts(parts, body), s).await?;
        let caller = caller?;
        caller.require(T::SCOPES)?;
        let body: T = parse_json(&headers, &raw)?;
        body.check()?;
        Ok(Self { caller, body })
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// Parses a JSON body after checking the content type, as HipChat does.
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, EmuError> {
    if !is_json(headers) {
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
