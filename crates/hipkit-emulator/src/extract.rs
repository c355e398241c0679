//! JSON request bodies as HipChat reads them: the body within the size limit and its
//! deadline ([`TimedBody`], the one body reader), then the caller's scope,
//! `Content-Type: application/json`, parsing and validation, each failure answered with
//! HipChat's error envelope. The rules are `hipkit_server::hipchat_api`'s, shared with the
//! bridge.

use crate::auth::Caller;
use crate::state::Shared;
use axum::extract::{FromRequest, FromRequestParts, Request};
pub use hipkit_server::hipchat_api::JsonBody;
use hipkit_server::hipchat_api::json_body;
use hipkit_server::{ApiError, TimedBody};

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
        let body = json_body(&parts.headers, &raw)?;
        Ok(Self { caller, body })
    }
}
