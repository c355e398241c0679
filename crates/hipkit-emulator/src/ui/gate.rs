//! Who may use the web UI. It shows every message and can mint tokens, so beyond loopback
//! it needs a password (HTTP basic auth, any user name); on loopback a password is optional.

use crate::EmulatorConfig;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hipchat::Token;
use hipkit_server::ApiError;
use std::sync::Arc;

/// The UI's access rule, from the emulator's config.
#[derive(Clone)]
pub struct Gate(Arc<Rule>);

enum Rule {
    /// Listening on loopback without a password: open to local clients.
    Open,
    /// Basic auth with this password.
    Password(Token),
    /// Listening beyond loopback without a password: closed.
    Closed,
}

impl Gate {
    /// The rule `config` implies.
    pub fn new(config: &EmulatorConfig) -> Self {
        Self(Arc::new(match &config.ui_password {
            Some(password) => Rule::Password(password.clone()),
            None if config.listen.ip().is_loopback() => Rule::Open,
            None => Rule::Closed,
        }))
    }
}

/// The password given in an `Authorization: Basic` header (any user name), if any.
fn basic_password(request: &Request) -> Option<Vec<u8>> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    match hipchat::parse_authorization(value)? {
        hipchat::Credentials::Basic { password, .. } => Some(password),
        _ => None,
    }
}

/// Lets the request through, or answers 401 (asking for the password) or 403.
pub async fn check(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    match &*gate.0 {
        Rule::Open => next.run(request).await,
        Rule::Password(password) => {
            if basic_password(&request).is_some_and(|given| password.matches(&given)) {
                return next.run(request).await;
            }
            ApiError::new(StatusCode::UNAUTHORIZED, "the web UI needs its password")
                .with_header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"hipkit emulator\", charset=\"UTF-8\""),
                )
                .into_response()
        }
        Rule::Closed => ApiError::new(
            StatusCode::FORBIDDEN,
            "the web UI is served beyond loopback only with a password: set `ui_password` in \
             [emulator] (or HIPKIT_EMULATOR_UI_PASSWORD)",
        )
        .into_response(),
    }
}
