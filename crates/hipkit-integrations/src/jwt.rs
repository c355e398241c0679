//! Webhook authentication with `hipchat::jwt`: when a secret is configured for an
//! integration, its webhooks must carry a JWT (HS256, `exp`, and `iss` when an issuer is
//! configured) in `Authorization: JWT <token>` or the `signed_request` query parameter;
//! missing, forged, expired or foreign tokens are refused.

use axum::http::HeaderMap;
use hipchat::jwt::{JwtError, JwtSecret};

/// The `signed_request` query parameter, if any, percent-decoded.
fn signed_request(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "signed_request")
        .map(|(_, v)| v.into_owned())
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
    let signed_request = signed_request(query);
    let token = hipchat::jwt::token_from_request(authorization, signed_request.as_deref())?;
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
}
