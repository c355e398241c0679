//! JWTs on webhook calls: HipChat signs a call with HS256 (key: the installation's shared
//! secret; `iss`: its OAuth client id) and sends it as `Authorization: JWT <token>` or in the
//! `signed_request` query parameter. [`sign`] makes one (the emulator), [`verify`] checks one
//! (integrations): signature, expiry and issuer.

use crate::authorization::{Credentials, parse_authorization};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Seconds a signed webhook call stays valid (HipChat's tokens lived minutes, not hours).
pub const DEFAULT_LIFETIME_SECS: u64 = 300;

/// Seconds of clock difference tolerated on `exp` (and `iat`) when verifying.
pub const LEEWAY_SECS: u64 = 30;

/// The longest a verified token may still have to live: `exp` further ahead than this (plus
/// [`FUTURE_LEEWAY_SECS`]) is refused, so a leaked token cannot be replayed for years.
pub const MAX_LIFETIME_SECS: u64 = 3600;

/// Seconds an `iat` or `nbf` may lie in the future (clock skew) before the token is refused.
pub const FUTURE_LEEWAY_SECS: u64 = 60;

/// A shared secret for signing and verifying; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    /// Wraps the secret's bytes (HipChat's `oauthSecret`, used as-is).
    pub fn new(raw: impl Into<Vec<u8>>) -> Self {
        Self(raw.into())
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted secret, {} bytes>", self.0.len())
    }
}

impl<'de> Deserialize<'de> for JwtSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::Token::deserialize(d).map(|t| Self::new(t.expose().as_bytes()))
    }
}

/// The claims of a webhook call, as HipChat put them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookClaims {
    /// The OAuth client id of the installation (finds the secret).
    pub iss: String,
    /// The user who caused the call (newer tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The same user, as older tokens named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prn: Option<String>,
    /// Issued at (Unix seconds).
    #[serde(default)]
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Not before (Unix seconds), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// A random id for the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `{ "room_id": ..., "user_tz": ... }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
}

impl WebhookClaims {
    /// Claims for a call caused by `user_id` in `room_id`, issued now and valid for
    /// [`DEFAULT_LIFETIME_SECS`]; both `sub` and `prn` carry the user, for old and new readers.
    pub fn for_call(issuer: &str, user_id: Option<u64>, room_id: u64) -> Self {
        let now = jsonwebtoken::get_current_timestamp();
        let user = user_id.map(|id| id.to_string());
        Self {
            iss: issuer.to_owned(),
            sub: user.clone(),
            prn: user,
            iat: now,
            exp: now + DEFAULT_LIFETIME_SECS,
            nbf: None,
            jti: Some(
                std::iter::repeat_with(fastrand::alphanumeric)
                    .take(20)
                    .collect(),
            ),
            context: Some(serde_json::json!({"room_id": room_id, "user_tz": "UTC"})),
        }
    }
}

/// Why a JWT was refused; never holds the token or the secret.
#[derive(Debug, Error)]
pub enum JwtError {
    /// No `Authorization: JWT ...` header and no `signed_request` parameter.
    #[error(
        "no JWT: expected an `Authorization: JWT <token>` header or a `signed_request` parameter"
    )]
    Missing,
    /// Not a well-formed HS256 JWT.
    #[error("malformed JWT: {0}")]
    Malformed(#[source] jsonwebtoken::errors::Error),
    /// The signature does not match the secret.
    #[error("JWT signature does not match the shared secret")]
    BadSignature,
    /// `exp` is in the past.
    #[error("JWT has expired")]
    Expired,
    /// `exp` lies further ahead than [`MAX_LIFETIME_SECS`]: HipChat's tokens lived minutes.
    #[error("JWT lives too long: `exp` is more than {MAX_LIFETIME_SECS} s ahead")]
    TooLong,
    /// `iat` or `nbf` lies in the future beyond [`FUTURE_LEEWAY_SECS`].
    #[error("JWT is not valid yet: `{claim}` is in the future")]
    NotYetValid {
        /// The claim in the future (`iat` or `nbf`).
        claim: &'static str,
    },
    /// `iss` is not the expected issuer.
    #[error("JWT issuer `{found}` is not the expected one")]
    WrongIssuer {
        /// The issuer the token names.
        found: String,
    },
    /// Signing failed (a key the crypto backend refuses).
    #[error("cannot sign the JWT: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Signs `claims` with HS256.
pub fn sign(secret: &JwtSecret, claims: &WebhookClaims) -> Result<String, JwtError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(&secret.0),
    )
    .map_err(JwtError::Sign)
}

/// Checks an HS256 token: signature, `exp` (with [`LEEWAY_SECS`], and at most
/// [`MAX_LIFETIME_SECS`] ahead), `iat`/`nbf` not in the future (beyond
/// [`FUTURE_LEEWAY_SECS`]), and `iss` when `issuer` is given. Returns its claims.
pub fn verify(
    token: &str,
    secret: &JwtSecret,
    issuer: Option<&str>,
) -> Result<WebhookClaims, JwtError> {
    let mut rules = Validation::new(Algorithm::HS256);
    rules.leeway = LEEWAY_SECS;
    rules.validate_aud = false;
    rules.set_required_spec_claims(&["exp", "iss"]);
    let claims =
        jsonwebtoken::decode::<WebhookClaims>(token, &DecodingKey::from_secret(&secret.0), &rules)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => JwtError::BadSignature,
                ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Malformed(e),
            })?
            .claims;
    check_lifetime(&claims, jsonwebtoken::get_current_timestamp())?;
    match issuer {
        Some(expected) if claims.iss != expected => Err(JwtError::WrongIssuer {
            found: claims.iss.chars().take(64).collect(),
        }),
        _ => Ok(claims),
    }
}

/// Refuses claims that live too long or start in the future, as seen at `now`.
fn check_lifetime(claims: &WebhookClaims, now: u64) -> Result<(), JwtError> {
    if claims.exp > now.saturating_add(MAX_LIFETIME_SECS + FUTURE_LEEWAY_SECS) {
        return Err(JwtError::TooLong);
    }
    let future = now.saturating_add(FUTURE_LEEWAY_SECS);
    if claims.iat > future {
        return Err(JwtError::NotYetValid { claim: "iat" });
    }
    if claims.nbf.is_some_and(|nbf| nbf > future) {
        return Err(JwtError::NotYetValid { claim: "nbf" });
    }
    Ok(())
}

/// The issuer a token names, read WITHOUT checking it: only for choosing which secret to
/// [`verify`] it with.
pub fn unverified_issuer(token: &str) -> Result<String, JwtError> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    jsonwebtoken::dangerous::insecure_decode::<Iss>(token)
        .map(|data| data.claims.iss)
        .map_err(JwtError::Malformed)
}

/// The token of a webhook call: from an `Authorization: JWT <token>` header value, else from
/// a `signed_request` query parameter.
pub fn token_from_request<'a>(
    authorization: Option<&'a str>,
    signed_request: Option<&'a str>,
) -> Result<&'a str, JwtError> {
    let from_header = authorization.and_then(|value| match parse_authorization(value)? {
        Credentials::Jwt(token) => Some(token),
        _ => None,
    });
    from_header
        .or(signed_request)
        .filter(|t| !t.is_empty())
        .ok_or(JwtError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> JwtSecret {
        JwtSecret::new("shared-secret")
    }

    #[test]
    fn a_signed_call_verifies_with_its_issuer() {
        let claims = WebhookClaims::for_call("client-1", Some(7), 42);
        let token = sign(&secret(), &claims).unwrap();
        let back = verify(&token, &secret(), Some("client-1")).unwrap();
        assert_eq!(back, claims);
        assert_eq!(back.prn.as_deref(), Some("7"));
        assert_eq!(unverified_issuer(&token).unwrap(), "client-1");
    }

    #[test]
    fn forged_expired_and_foreign_tokens_are_refused() {
        let claims = WebhookClaims::for_call("client-1", None, 1);
        let forged = sign(&JwtSecret::new("other"), &claims).unwrap();
        assert!(matches!(
            verify(&forged, &secret(), None),
            Err(JwtError::BadSignature)
        ));
        let mut old = claims.clone();
        old.exp = old.iat - 3600;
        let expired = sign(&secret(), &old).unwrap();
        assert!(matches!(
            verify(&expired, &secret(), None),
            Err(JwtError::Expired)
        ));
        let token = sign(&secret(), &claims).unwrap();
        assert!(matches!(
            verify(&token, &secret(), Some("client-2")),
            Err(JwtError::WrongIssuer { .. })
        ));
        assert!(matches!(
            verify("not.a.jwt", &secret(), None),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn long_lived_and_future_tokens_are_refused() {
        let fresh = WebhookClaims::for_call("client-1", None, 1);
        let now = fresh.iat;
        let check =
            |claims: &WebhookClaims| verify(&sign(&secret(), claims).unwrap(), &secret(), None);
        let mut forever = fresh.clone();
        forever.exp = now + 30 * 365 * 86_400;
        assert!(matches!(check(&forever), Err(JwtError::TooLong)));
        let mut hour = fresh.clone();
        hour.exp = now + MAX_LIFETIME_SECS;
        assert!(check(&hour).is_ok());
        let mut issued_later = fresh.clone();
        issued_later.iat = now + 365 * 86_400;
        assert!(matches!(
            check(&issued_later),
            Err(JwtError::NotYetValid { claim: "iat" })
        ));
        let mut not_before = fresh.clone();
        not_before.nbf = Some(now + 365 * 86_400);
        assert!(matches!(
            check(&not_before),
            Err(JwtError::NotYetValid { claim: "nbf" })
        ));
        let mut skewed = fresh;
        skewed.iat = now + 10;
        skewed.nbf = Some(now + 10);
        assert!(check(&skewed).is_ok());
    }

    #[test]
    fn tokens_come_from_the_header_or_the_parameter() {
        assert_eq!(token_from_request(Some("JWT abc"), None).unwrap(), "abc");
        assert_eq!(token_from_request(Some("jwt  abc "), None).unwrap(), "abc");
        assert_eq!(
            token_from_request(Some("Bearer x"), Some("def")).unwrap(),
            "def"
        );
        assert!(matches!(
            token_from_request(None, None),
            Err(JwtError::Missing)
        ));
        assert!(!format!("{:?}", secret()).contains("shared"));
    }
}
