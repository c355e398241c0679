//! Typed errors for every way a HipChat call can fail.

use crate::ratelimit::RateLimit;
use crate::validate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// HipChat's error envelope content: `{"error": {"code", "message", "type"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Human-readable message.
    pub message: String,
    /// Reason phrase, e.g. `Bad Request`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The envelope around [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ApiError,
}

impl ApiError {
    /// Builds an error with the reason phrase of `code`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        let kind = reqwest::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_owned();
        Self {
            code,
            message: message.into(),
            kind,
        }
    }

    /// Parses an error body; a body that is not the envelope becomes the message (shortened).
    pub fn from_body(code: u16, body: &[u8]) -> Self {
        if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) {
            return env.error;
        }
        let text = String::from_utf8_lossy(body);
        let text: String = text.trim().chars().take(300).collect();
        Self::new(
            code,
            if text.is_empty() {
                "(empty body)".into()
            } else {
                text
            },
        )
    }

    /// Scopes named in a 403 message like `[u'view_group', u'view_room']`.
    pub fn required_scopes(&self) -> Vec<String> {
        let Some(list) = self
            .message
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(inside, _)| inside)
        else {
            return Vec::new();
        };
        list.split(',')
            .map(|s| {
                s.trim()
                    .trim_start_matches('u')
                    .trim_matches(|c| c == '\'' || c == '"')
                    .to_owned()
            })
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.kind, self.message)
    }
}

/// Everything a [`crate::Client`] call can fail with.
#[derive(Debug, Error)]
pub enum Error {
    /// The request broke a documented limit; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// 400: HipChat rejected the request.
    #[error("bad request: {0}")]
    BadRequest(ApiError),
    /// 401: the token is missing, invalid or expired.
    #[error("unauthorized: {0}")]
    Unauthorized(ApiError),
    /// 403: the token lacks a scope (listed in `required_scopes`).
    #[error("forbidden: {error}")]
    Forbidden {
        /// HipChat's error.
        error: ApiError,
        /// Scopes any one of which would allow the call.
        required_scopes: Vec<String>,
    },
    /// 404: room, user, webhook or path not found.
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 429: rate limit or flood control; `rate_limit.retry_at()` tells when to try again.
    #[error("rate limited: {error}")]
    RateLimited {
        /// HipChat's error.
        error: ApiError,
        /// The limit headers of the 429 answer.
        rate_limit: Box<RateLimit>,
    },
    /// 5xx: HipChat failed; retrying later may help.
    #[error("server error: {0}")]
    Server(ApiError),
    /// Any other unexpected status.
    #[error("unexpected status: {0}")]
    Status(ApiError),
    /// The request did not complete (connection refused or dropped, timeout, TLS).
    #[error("network error{}: {message}", if *.timeout { " (timeout)" } else { "" })]
    Network {
        /// What went wrong, without URLs or credentials.
        message: String,
        /// Whether a timeout expired.
        timeout: bool,
    },
    /// The answer was not the JSON expected.
    #[error("could not decode HipChat's answer: {source}")]
    Decode {
        /// Why the body does not parse as the expected type.
        #[source]
        source: serde_json::Error,
    },
    /// The client was configured wrongly (bad base URL ...).
    #[error("invalid client configuration: {0}")]
    Config(#[source] ConfigError),
}

/// What is wrong with a client's configuration, and the error another library gave, if one
/// did (its text is part of this one's, as in the rest of hipkit's errors).
#[derive(Debug, Error)]
#[error("{what}{}", .source.as_ref().map(|e| format!(": {}", error_chain(e.as_ref()))).unwrap_or_default())]
pub struct ConfigError {
    /// What is wrong.
    pub what: String,
    /// The error behind it.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ConfigError {
    /// `what` is wrong because of `source`.
    pub fn because(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl From<String> for ConfigError {
    fn from(what: String) -> Self {
        Self { what, source: None }
    }
}

impl From<&str> for ConfigError {
    fn from(what: &str) -> Self {
        what.to_owned().into()
    }
}

impl Error {
    /// Maps a non-success status and its body to the matching variant.
    pub fn from_status(status: u16, body: &[u8], rate_limit: RateLimit) -> Self {
        let error = ApiError::from_body(status, body);
        match status {
            400 => Self::BadRequest(error),
            401 => Self::Unauthorized(error),
            403 => Self::Forbidden {
                required_scopes: error.required_scopes(),
                error,
            },
            404 => Self::NotFound(error),
            429 => Self::RateLimited {
                error,
                rate_limit: Box::new(rate_limit),
            },
            500..=599 => Self::Server(error),
            _ => Self::Status(error),
        }
    }

    /// Whether trying the same request again later may succeed (5xx, 429, network).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server(_) | Self::Network { .. }
        )
    }

    /// The HTTP status HipChat answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::BadRequest(e)
            | Self::Unauthorized(e)
            | Self::NotFound(e)
            | Self::Server(e)
            | Self::Status(e)
            | Self::Forbidden { error: e, .. }
            | Self::RateLimited { error: e, .. } => Some(e.code),
            _ => None,
        }
    }

    /// Converts a reqwest failure, keeping the cause chain but never the URL.
    pub(crate) fn network(err: reqwest::Error) -> Self {
        let timeout = err.is_timeout();
        let message = error_chain(&err.without_url());
        Self::Network { message, timeout }
    }
}

/// An error and its causes as one line, `a: b: c` (an HTTP client's own text alone says
/// little, e.g. "error sending request"). A cause whose text an outer error already shows
/// (many errors print their source) is not repeated.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open the store: {0}")]
        struct Shows(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("cannot start")]
        struct Hides(#[source] Shows);
        let e = Hides(Shows(std::io::Error::other("disk full")));
        assert_eq!(
            error_chain(&e),
            "cannot start: cannot open the store: disk full"
        );
    }

    #[test]
    fn forbidden_lists_the_required_scopes() {
        let body = br#"{"error":{"code":403,"message":"This action requires one of the following scopes: [u'view_group', u'view_room']","type":"Forbidden"}}"#;
        match Error::from_status(403, body, RateLimit::default()) {
            Error::Forbidden {
                required_scopes, ..
            } => assert_eq!(required_scopes, vec!["view_group", "view_room"]),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn decode_errors_keep_the_parsers_error() {
        let source = serde_json::from_slice::<ErrorEnvelope>(b"{\"error\":").unwrap_err();
        let e = Error::Decode { source };
        assert!(
            e.to_string()
                .starts_with("could not decode HipChat's answer: EOF")
        );
        let cause = std::error::Error::source(&e).expect("a source");
        assert!(cause.is::<serde_json::Error>());
    }

    #[test]
    fn non_envelope_bodies_become_the_message() {
        let e = ApiError::from_body(502, b"<html>bad gateway</html>");
        assert_eq!(e.kind, "Bad Gateway");
        assert!(e.message.contains("bad gateway"));
    }
}
