//! JSON request bodies as HipChat reads them: the body within the size limit and its
//! deadline ([`TimedBody`], the one body reader), then the caller's scope,
//! `Content-Type: application/json`, parsing and validation, each failure answered with
//! HipChat's error envelope.

use crate::auth::Caller;
use crate::state::Shared;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use hipchat::{
    CreateRoom, CreateUser, CreateWebhook, PrivateMessage, RoomMessage, RoomNotification, Scope,
    SetTopic, Validate,
};
use hipkit_server::{ApiError, TimedBody};
use serde::de::DeserializeOwned;

/// A JSON request body: who may send it and what makes it acceptable.
pub trait JsonBody: DeserializeOwned {
    /// The caller needs one of these scopes.
    const SCOPES: &'static [Scope];

    /// Checks the parsed body (HipChat's limits for API bodies); 400 on failure.
    fn check(&self) -> Result<(), ApiError>;
}

/// HipChat API bodies: validated by the `hipchat` crate's rules, the client's own.
macro_rules! hipchat_bodies {
    ($($body:ty => $scope:ident),+ $(,)?) => {$(
        impl JsonBody for $body {
            const SCOPES: &'static [Scope] = &[Scope::$scope];

            fn check(&self) -> Result<(), ApiError> {
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
    SetTopic => AdminRoom,
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
    type Rejection = ApiError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let caller = Caller::from_request_parts(&mut parts, s).await;
        let raw = TimedBody::read(&parts, body).await?;
        let caller = caller?;
        caller.require(T::SCOPES)?;
        let body: T = parse_json(&parts.headers, &raw)?;
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
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::bad_request("Invalid content type"));
    }
    serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            "Malformed JSON"
        } else {
            "Invalid request body"
        };
        ApiError::bad_request(format!("{kind}: {e}"))
    })
}
