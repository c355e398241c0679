//! Building the POST: the body (the build dict exactly as received, or the `payload`
//! template's JSON), `Content-Type: application/json`, the configured headers and auth,
//! each header marked secret or not so requests show and store themselves without secrets.

use super::config::{Auth, HttpConfig};
use crate::template::{self, TemplateError};
use crate::{Build, Event};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hipkit_transport::push::{Header, HttpPush, PushRequest, header_is_shown};

/// The body could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The `payload` template failed.
    #[error("payload: {0}")]
    Template(#[source] TemplateError),
    /// The `payload` template's output is not JSON.
    #[error("payload did not render JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The build's JSON is not UTF-8 text (parsed JSON always is).
    #[error("the build JSON is not UTF-8: {0}")]
    NotUtf8(#[source] std::string::FromUtf8Error),
}

/// Every header `config` sends, in order, each marked secret or not.
fn headers(config: &HttpConfig) -> Vec<Header> {
    let mut headers = vec![Header::plain("Content-Type", "application/json")];
    headers.extend(config.headers.iter().map(|(name, value)| Header {
        name: name.clone(),
        value: value.clone(),
        secret: !header_is_shown(name),
    }));
    match &config.auth {
        Some(Auth::Basic { user, password }) => {
            let pair = STANDARD.encode(format!("{user}:{}", password.expose()));
            headers.push(Header::secret("Authorization", format!("Basic {pair}")));
        }
        Some(Auth::Bearer(token)) => {
            headers.push(Header::secret(
                "Authorization",
                format!("Bearer {}", token.expose()),
            ));
        }
        None => {}
    }
    headers
}

/// The request for `build` at `event` under `config`.
pub fn push_request(
    config: &HttpConfig,
    build: &Build,
    event: Event,
) -> Result<PushRequest, PayloadError> {
    let body = match &config.payload {
        None if config.want_logs == Some(false) => {
            let mut view = build.to_value();
            if let Some(dict) = view.as_object_mut() {
                crate::hipchat::config::strip_log_content(dict);
            }
            view.to_string()
        }
        None => String::from_utf8(build.json_bytes().to_vec()).map_err(PayloadError::NotUtf8)?,
        Some(t) => {
            let text = t
                .render(&template::context(&build.to_value(), event))
                .map_err(PayloadError::Template)?;
            serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(PayloadError::NotJson)?;
            text
        }
    };
    Ok(PushRequest {
        url: config.server_url.clone(),
        headers: headers(config),
        body,
    })
}

/// The request a stored push makes under the reporter's live `config`: its URL, the stored
/// headers (none secret), then the secret headers and auth the configuration holds now.
pub fn live_request(config: &HttpConfig, push: &HttpPush) -> PushRequest {
    let stored = push.headers.iter().map(Header::from);
    let secret = headers(config).into_iter().filter(|h| h.secret);
    PushRequest {
        url: config.server_url.clone(),
        headers: stored.chain(secret).collect(),
        body: push.body.clone(),
    }
}
