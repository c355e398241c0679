//! Who may post builds to the relay: an optional shared-secret header and optional basic
//! auth (Buildbot's HttpStatusPush `headers` and `auth`), or `serve`'s API token.
//!
//! The rule: with `[reporters.relay]` credentials configured, a caller must present them
//! (or the API token as `Authorization: Bearer`). With none configured, the relay is as open
//! as the rest of `serve`: anonymous without `[serve] api_token`, and with it only callers
//! presenting that token. No hook is anonymous while the send API is closed.

use crate::config::RelayConfig;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use hipchat::{Credentials, Token, parse_authorization, same_secret};

/// The relay's checks, from `[reporters.relay]`.
#[derive(Debug, Clone, Default)]
pub struct RelayAuth {
    secret: Option<(String, Token)>,
    basic: Option<(String, Token)>,
    api_token: Option<Token>,
}

impl RelayAuth {
    /// The checks `config` asks for.
    pub fn new(config: &RelayConfig) -> Self {
        Self {
            secret: config
                .secret
                .clone()
                .map(|s| (config.secret_header.clone(), s)),
            basic: config.user.clone().zip(config.password.clone()),
            api_token: None,
        }
    }

    /// Whether any credential is required (a secret header, basic auth, or the API token).
    pub fn is_required(&self) -> bool {
        self.secret.is_some() || self.basic.is_some() || self.api_token.is_some()
    }

    /// The same checks, also admitting `serve`'s API token as a bearer token (and, with no
    /// relay credentials configured, requiring it).
    pub fn with_api_token(mut self, token: Option<Token>) -> Self {
        self.api_token = token;
        self
    }

    /// `None` when the request may pass; otherwise why not (never echoing a secret).
    pub fn refuse(&self, headers: &HeaderMap) -> Option<&'static str> {
        if let Some(token) = &self.api_token {
            let bearer = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(Credentials::bearer);
            if bearer.is_some_and(|b| token.matches(b.as_bytes())) {
                return None;
            }
            if self.secret.is_none() && self.basic.is_none() {
                return Some(
                    "the API token (`Authorization: Bearer`) or the relay's own credentials \
                     are required",
                );
            }
        }
        self.refuse_relay_credentials(headers)
    }

    /// The `[reporters.relay]` checks alone.
    fn refuse_relay_credentials(&self, headers: &HeaderMap) -> Option<&'static str> {
        if let Some((name, secret)) = &self.secret {
            let given = headers.get(name.as_str()).map(|v| v.as_bytes());
            if !given.is_some_and(|g| secret.matches(g)) {
                return Some("the shared-secret header is missing or wrong");
            }
        }
        if let Some((user, password)) = &self.basic {
            let given = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_authorization);
            let right = match given {
                // Both compared, always, so the time taken does not tell which was wrong.
                Some(Credentials::Basic {
                    user: given_user,
                    password: given_password,
                }) => same_secret(&given_user, user.as_bytes()) & password.matches(&given_password),
                _ => false,
            };
            if !right {
                return Some("basic auth is missing or wrong");
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn secret_and_basic_auth() {
        assert_eq!(RelayAuth::default().refuse(&HeaderMap::new()), None);
        let auth = RelayAuth::new(&RelayConfig {
            secret: Some(Token::new("s3")),
            user: Some("bb".into()),
            password: Some(Token::new("pw")),
            ..RelayConfig::default()
        });
        let basic = format!("Basic {}", STANDARD.encode("bb:pw"));
        assert_eq!(
            auth.refuse(&headers(&[
                ("x-hipkit-secret", "s3"),
                ("authorization", &basic)
            ])),
            None
        );
        assert!(
            auth.refuse(&headers(&[("authorization", &basic)]))
                .is_some()
        );
        assert!(
            auth.refuse(&headers(&[("x-hipkit-secret", "s3")]))
                .is_some()
        );
        let lower = format!("basic {}", STANDARD.encode("bb:pw"));
        assert_eq!(
            auth.refuse(&headers(&[
                ("x-hipkit-secret", "s3"),
                ("authorization", &lower)
            ])),
            None,
            "the scheme is case-insensitive"
        );
        let with_token = auth.clone().with_api_token(Some(Token::new("api")));
        assert_eq!(
            with_token.refuse(&headers(&[("authorization", "Bearer api")])),
            None,
            "the API token stands in for the relay's credentials"
        );
        let closed = RelayAuth::default().with_api_token(Some(Token::new("api")));
        assert!(closed.refuse(&HeaderMap::new()).is_some());
        assert!(
            closed
                .refuse(&headers(&[("authorization", "Bearer nope")]))
                .is_some()
        );
        assert_eq!(
            closed.refuse(&headers(&[("authorization", "Bearer api")])),
            None
        );
        let wrong = format!("Basic {}", STANDARD.encode("bb:nope"));
        assert!(
            auth.refuse(&headers(&[
                ("x-hipkit-secret", "s3"),
                ("authorization", &wrong)
            ]))
            .is_some()
        );
    }
}
