//! Who is calling: the token from `Authorization: Bearer` or `auth_token`, and scope checks.
//! Shared by the `/v2` gate and the `/_emulator` control API.

use crate::state::{Shared, World};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use hipchat::Scope;
use hipkit_server::ApiError;

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
        if !any_of.iter().any(|s| self.scopes.contains(s)) {
            let list = any_of
                .iter()
                .map(|s| format!("u'{s}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("This action requires one of the following scopes: [{list}]"),
            ));
        }
        if self.auth_test {
            return Err(ApiError::new(
                StatusCode::ACCEPTED,
                "This auth_token has access to use this method.",
            ));
        }
        Ok(())
    }
}

/// 401 for a request without a token, in HipChat's words.
pub fn no_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Authenticated requests only. See https://www.hipchat.com/docs/apiv2/auth for more information.",
    )
}

/// 401 for an unknown token, in HipChat's words.
pub fn bad_token() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Invalid OAuth session")
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

/// Query parameters as decoded pairs.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The raw token of a request, from the header first, then the query.
pub fn raw_token(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(hipchat::Credentials::bearer)
        .map(str::to_owned);
    from_header.or_else(|| {
        query
            .iter()
            .find(|(k, _)| k == "auth_token")
            .map(|(_, v)| v.clone())
    })
}
