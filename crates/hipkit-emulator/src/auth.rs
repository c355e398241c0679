//! Who is calling: the token from `Authorization: Bearer` or `auth_token`, and scope checks
//! (HipChat's rules, from `hipkit_server::hipchat_api`, which the bridge answers by too).
//! Shared by the `/v2` gate and the `/_emulator` control API.

use crate::state::{Shared, World};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hipchat::Scope;
use hipkit_server::ApiError;
use hipkit_server::hipchat_api;
pub use hipkit_server::hipchat_api::{bad_token, no_token, query_pairs, raw_token};

/// The authenticated caller: put into request extensions by the `/v2` gate, or looked up
/// from the request's token when extracted on a route the gate does not cover.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token label (never the token).
    pub label: String,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// User the token acts as.
    pub user_id: u64,
    /// `auth_test=true` was given on a `/v2` request: check access, skip the action.
    pub auth_test: bool,
}

impl Caller {
    /// Fails with 403 unless the token has one of `any_of`; with `auth_test`, stops with 202.
    pub fn require(&self, any_of: &[Scope]) -> Result<(), ApiError> {
        hipchat_api::require_scopes(&self.scopes, any_of, self.auth_test)
    }
}

/// Looks a raw token up: 401 without one or for an unknown one. `auth_test` starts false.
pub fn identify(world: &World, token: Option<&str>) -> Result<Caller, ApiError> {
    let token = token.ok_or_else(no_token)?;
    let rec = world.token(token).ok_or_else(bad_token)?;
    Ok(Caller {
        label: rec.label.clone(),
        scopes: rec.scopes.clone(),
        user_id: rec.user_id,
        auth_test: false,
    })
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = raw_token(&parts.headers, &query_pairs(parts.uri.query()));
        identify(&s.world(), token.as_deref())
    }
}
