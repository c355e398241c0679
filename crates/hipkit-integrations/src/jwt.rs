//! Webhook authentication with `hipchat::jwt`: when a secret is configured for an
//! integration, its webhooks must carry a JWT (HS256, `exp`, and `iss` when an issuer is
//! configured) in `Authorization: JWT <token>` or the `signed_request` query parameter;
//! missing, forged, expired or foreign tokens are refused. A verified token is also bound to
//! the body it came with ([`bind`]): its `context.room_id` must be the body's room, and its
//! issuer the installation the body and the room's configuration name.

use axum::http::HeaderMap;
use hipchat::jwt::{JwtError, JwtSecret, WebhookClaims};
use std::collections::BTreeMap;

/// The `signed_request` query parameter, if any, percent-decoded.
fn signed_request(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "signed_request")
        .map(|(_, v)| v.into_owned())
}

/// Checks the webhook's JWT against `secret` (and `issuer`, when given); returns its claims.
pub fn check(
    headers: &HeaderMap,
    query: Option<&str>,
    secret: &JwtSecret,
    issuer: Option<&str>,
) -> Result<WebhookClaims, JwtError> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let signed_request = signed_request(query);
    let token = hipchat::jwt::token_from_request(authorization, signed_request.as_deref())?;
    hipchat::jwt::verify(token, secret, issuer)
}

/// Why verified claims do not belong to the body they came with (never shows a token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The token names no room (`context.room_id`), so it cannot vouch for the body's.
    #[error("the JWT names no room (`context.room_id`): it cannot vouch for room {body}")]
    NoRoom {
        /// The body's room.
        body: String,
    },
    /// The token was issued for another room than the body's.
    #[error("the JWT was issued for room {signed}, not for the body's room {body}")]
    OtherRoom {
        /// The room the token names.
        signed: String,
        /// The body's room.
        body: String,
    },
    /// The body's `oauth_client_id` is not the token's issuer.
    #[error("the body's `oauth_client_id` is not the JWT's issuer")]
    OtherInstallation,
    /// The body's room is configured for another issuer than the token's.
    #[error("room {room} takes webhooks from another issuer only ([integrations.room_issuers])")]
    RoomIssuer {
        /// The body's room.
        room: String,
    },
}

/// Binds verified `claims` to the body: `context.room_id` must be `room_id`, the body's
/// `oauth_client_id` (when sent) must be the issuer, and a room listed in `room_issuers`
/// takes only its issuer (whose installation its token belongs to).
pub fn bind(
    claims: &WebhookClaims,
    room_id: &str,
    oauth_client_id: Option<&str>,
    room_issuers: &BTreeMap<String, String>,
) -> Result<(), BindError> {
    let signed = claims
        .context
        .as_ref()
        .and_then(|c| c.get("room_id"))
        .and_then(|id| match id {
            serde_json::Value::Number(n) => n.as_u64().map(|n| n.to_string()),
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .ok_or_else(|| BindError::NoRoom {
            body: room_id.to_owned(),
        })?;
    if signed != room_id {
        return Err(BindError::OtherRoom {
            signed: signed.chars().take(32).collect(),
            body: room_id.to_owned(),
        });
    }
    if oauth_client_id.is_some_and(|client| client != claims.iss) {
        return Err(BindError::OtherInstallation);
    }
    match room_issuers.get(room_id) {
        Some(issuer) if *issuer != claims.iss => Err(BindError::RoomIssuer {
            room: room_id.to_owned(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hipchat::jwt::WebhookClaims;

    #[test]
    fn header_or_query_forged_expired_foreign() {
        let secret = JwtSecret::new("s3cret");
        let good = hipchat::jwt::sign(&secret, &WebhookClaims::for_call("me", Some(1), 2)).unwrap();
        let mut headers = HeaderMap::new();
        assert!(matches!(
            check(&headers, None, &secret, None),
            Err(JwtError::Missing)
        ));
        let query = format!("a=1&signed_request={good}");
        assert!(check(&headers, Some(&query), &secret, Some("me")).is_ok());
        let encoded = format!("signed_request={}&b=2", good.replace('.', "%2E"));
        assert!(check(&headers, Some(&encoded), &secret, Some("me")).is_ok());
        headers.insert("authorization", format!("JWT {good}").parse().unwrap());
        assert!(check(&headers, None, &secret, Some("me")).is_ok());
        assert!(matches!(
            check(&headers, None, &secret, Some("other")),
            Err(JwtError::WrongIssuer { .. })
        ));
        assert!(matches!(
            check(&headers, None, &JwtSecret::new("forged"), None),
            Err(JwtError::BadSignature)
        ));
        let mut old = WebhookClaims::for_call("me", None, 2);
        old.exp = 1_000;
        old.iat = 900;
        let expired = hipchat::jwt::sign(&secret, &old).unwrap();
        headers.insert("authorization", format!("JWT {expired}").parse().unwrap());
        assert!(matches!(
            check(&headers, None, &secret, None),
            Err(JwtError::Expired)
        ));
    }

    #[test]
    fn claims_are_bound_to_the_body() {
        let claims = WebhookClaims::for_call("me", Some(1), 1);
        let none = BTreeMap::new();
        assert_eq!(bind(&claims, "1", Some("me"), &none), Ok(()));
        assert!(matches!(
            bind(&claims, "2", None, &none),
            Err(BindError::OtherRoom { .. })
        ));
        assert_eq!(
            bind(&claims, "1", Some("other"), &none),
            Err(BindError::OtherInstallation)
        );
        let issuers = BTreeMap::from([("1".to_owned(), "them".to_owned())]);
        assert!(matches!(
            bind(&claims, "1", None, &issuers),
            Err(BindError::RoomIssuer { .. })
        ));
        let mut roomless = claims.clone();
        roomless.context = None;
        assert!(matches!(
            bind(&roomless, "1", None, &none),
            Err(BindError::NoRoom { .. })
        ));
    }
}
