//! Who is calling: the token (Bearer header or `auth_token`) looked up among `[bridge]
//! tokens`, its scopes checked with HipChat's words, its rooms with HipChat's room-token
//! rule.

use crate::directory::{Directory, IssuedToken, Room};
use axum::http::StatusCode;
use axum::http::request::Parts;
use hipchat::{RoomRef, Scope};
use hipkit_server::ApiError;
use hipkit_server::hipchat_api::{
    bad_token, is_auth_test, no_token, query_pairs, raw_token, require_scopes,
};

/// The authenticated caller of one request.
#[derive(Debug)]
pub struct Caller<'a> {
    /// Its token.
    pub token: &'a IssuedToken,
    /// `auth_test=true`: check access, skip the action (202).
    pub auth_test: bool,
}

impl<'a> Caller<'a> {
    /// The caller of a v2 request: 401 without a token or with an unknown one.
    pub fn of(directory: &'a Directory, parts: &Parts) -> Result<Self, ApiError> {
        let query = query_pairs(parts.uri.query());
        let raw = raw_token(&parts.headers, &query).ok_or_else(no_token)?;
        let token = directory.token(&raw).ok_or_else(bad_token)?;
        Ok(Self {
            token,
            auth_test: is_auth_test(&query),
        })
    }

    /// 403 unless it holds one of `any_of`; 202 for `auth_test`.
    pub fn require(&self, any_of: &[Scope]) -> Result<(), ApiError> {
        require_scopes(&self.token.scopes, any_of, self.auth_test)
    }

    /// The room `raw` names, which this token may post to: 404 for an unknown room, 403 for
    /// one a room token is not for.
    pub fn room<'d>(&self, directory: &'d Directory, raw: &str) -> Result<&'d Room, ApiError> {
        let room = directory
            .room(&RoomRef::parse(raw))
            .ok_or_else(|| ApiError::not_found("Room not found"))?;
        match &self.token.rooms {
            Some(allowed) if !allowed.contains(&room.id) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "This token is a room token for other rooms: it cannot post to room {}",
                    room.id
                ),
            )),
            _ => Ok(room),
        }
    }
}
