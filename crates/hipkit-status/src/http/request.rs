//! Building the POST: the body (the build dict exactly as received, or the `payload`
//! template's JSON), `Content-Type: application/json`, the configured headers and auth.
//! Requests describe themselves with every secret redacted.

use super::config::{Auth, HttpConfig};
use crate::template::{self, TemplateError};
use crate::{Build, Event};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

/// One POST, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct PushRequest {
    /// The URL (`server_url`).
    pub url: String,
    /// Headers in order; the `bool` marks values never to show.
    pub headers: Vec<(String, String, bool)>,
    /// The JSON body.
    pub body: Bytes,
}

impl std::fmt::Debug for PushRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The body could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The `payload` template failed.
    #[error("payload: {0}")]
    Template(#[source] TemplateError),
    /// The `payload` template's output is not JSON.
    #[error("payload did not render JSON: {0}")]
    NotJson(#[source] serde_json::Error),
}

/// Header names whose values are secrets whatever reporter set them.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "token",
        "secret",
        "key",
        "cookie",
        "password",
        "signature",
    ]
    .iter()
    .any(|s| name.contains(s))
}

impl PushRequest {
    /// The request for `build` at `event` under `config`.
    pub fn new(config: &HttpConfig, build: &Build, event: Event) -> Result<Self, PayloadError> {
        let body = match &config.payload {
            None => build.json_bytes(),
            Some(t) => {
                let text = t
                    .render(&template::context(&build.to_value(), event))
                    .map_err(PayloadError::Template)?;
                serde_json::from_str::<serde::de::IgnoredAny>(&text)
                    .map_err(PayloadError::NotJson)?;
                Bytes::from(text)
            }
        };
        let mut headers = vec![(
            "Content-Type".to_owned(),
            "application/json".to_owned(),
            false,
        )];
        headers.extend(
            config
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), secret_header(k))),
        );
        match &config.auth {
            Some(Auth::Basic { user, password }) => {
                let pair = STANDARD.encode(format!("{user}:{}", password.expose()));
                headers.push(("Authorization".into(), format!("Basic {pair}"), true));
            }
            Some(Auth::Bearer(token)) => {
                headers.push((
                    "Authorization".into(),
                    format!("Bearer {}", token.expose()),
                    true,
                ));
            }
            None => {}
        }
        Ok(Self {
            url: config.server_url.clone(),
            headers,
            body,
        })
    }

    /// The request as text, secrets redacted (for `--dry-run` and `debug`).
    pub fn describe(&self) -> String {
        let mut out = format!("POST {}\n", self.url);
        for (name, value, secret) in &self.headers {
            let value = if *secret { "<redacted>" } else { value };
            out.push_str(&format!("{name}: {value}\n"));
        }
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(&self.body));
        out.push('\n');
        out
    }
}
