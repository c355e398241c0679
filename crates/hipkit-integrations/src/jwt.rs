//! Webhook authentication with `hipchat::jwt`: when a secret is configured for an
//! integration, its webhooks must carry a JWT (HS256, `exp`, and `iss` when an issuer is
//! configured) in `Authorization: JWT <token>` or the `signed_request` query parameter;
//! missing, forged, expired or foreign tokens are refused.

use axum::http::HeaderMap;
use hipchat::jwt::{JwtError, JwtSecret};

/// The `signed_request` query parameter, if any.
fn signed_request(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "signed_request").then_some(v)
    })
}

/// Checks the webhook's JWT against `secret` (and `issuer`, when given).
pub fn check(
    headers: &HeaderMap,
    query: Option<&str>,
    secret: &JwtSecret,
    issuer: Option<&str>,
) -> Result<(), JwtError> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = hipchat::jwt::token_from_request(authorization, signed_request(query))?;
    hipchat::jwt::verify(token, secret, issuer).map(|_| ())
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
}
