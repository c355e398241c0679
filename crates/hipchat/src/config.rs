//! The `[hipchat]` configuration section: which server to talk to and how, and the
//! [`Client`] it builds.

use crate::client::{Client, DEFAULT_TIMEOUT};
use crate::error::Error;
use crate::secret::Token;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where hipkit sends when nothing is configured: the emulator's default address (HipChat
/// Cloud no longer exists, so there is no public default).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8180";

/// `[hipchat]`: the server, the token and the request limits every HipChat caller shares.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Base URL (`None`: not configured; `hipkit serve` then starts its built-in emulator).
    pub endpoint: Option<String>,
    /// API token (never serialized).
    #[serde(skip_serializing)]
    pub token: Option<Token>,
    /// Default `from` label for room notifications.
    pub default_sender: Option<String>,
    /// Whole-request timeout in seconds.
    pub timeout_secs: u64,
    /// Accept invalid TLS certificates (self-signed test servers only).
    pub accept_invalid_certs: bool,
    /// Requests per token allowed in `rate_window_secs` (HipChat: 500 per 5 minutes); the
    /// outbox never sends more, across every replica sharing the store. 0: no limit.
    pub rate_limit: u32,
    /// The per-token window in seconds.
    pub rate_window_secs: u64,
    /// Messages per recipient (room or user) allowed in `flood_window_secs` (HipChat: 30
    /// per minute). 0: no limit.
    pub flood_limit: u32,
    /// The per-recipient window in seconds.
    pub flood_window_secs: u64,
    /// Added to both windows, in milliseconds, so a request's time in transit never puts
    /// one more into the server's window than its limit.
    pub limit_margin_ms: u64,
}

/// HipChat's documented per-token limit: 500 requests per 300 seconds.
const RATE_LIMIT: (u32, u64) = (500, 300);
/// HipChat's documented flood control: 30 messages per recipient per 60 seconds.
const FLOOD_LIMIT: (u32, u64) = (30, 60);
/// The default margin added to each window, in milliseconds.
const LIMIT_MARGIN_MS: u64 = 1000;

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            token: None,
            default_sender: None,
            timeout_secs: DEFAULT_TIMEOUT.as_secs(),
            accept_invalid_certs: false,
            rate_limit: RATE_LIMIT.0,
            rate_window_secs: RATE_LIMIT.1,
            flood_limit: FLOOD_LIMIT.0,
            flood_window_secs: FLOOD_LIMIT.1,
            limit_margin_ms: LIMIT_MARGIN_MS,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token)
            .field("default_sender", &self.default_sender)
            .field("timeout_secs", &self.timeout_secs)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("rate_limit", &self.rate_limit)
            .field("rate_window_secs", &self.rate_window_secs)
            .field("flood_limit", &self.flood_limit)
            .field("flood_window_secs", &self.flood_window_secs)
            .field("limit_margin_ms", &self.limit_margin_ms)
            .finish()
    }
}

impl ClientConfig {
    /// The configured endpoint, or the local emulator's address.
    pub fn endpoint_or_default(&self) -> &str {
        self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT)
    }

    /// [`ClientConfig::endpoint_or_default`] as banners and logs may show it
    /// ([`crate::redact_url`], without a trailing `/`).
    pub fn endpoint_shown(&self) -> String {
        crate::redact_url(self.endpoint_or_default())
            .trim_end_matches('/')
            .to_owned()
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Builds a client; a missing token or a zero timeout is a configuration error.
    pub fn build(&self) -> Result<Client, Error> {
        let token = self.token.clone().ok_or_else(|| {
            Error::Config(
                "no API token: set HIPCHAT_API_TOKEN, pass --token, or put token in [hipchat] \
                 of hipkit.toml"
                    .into(),
            )
        })?;
        if self.timeout_secs == 0 {
            return Err(Error::Config(
                "the request timeout must be at least 1 second".into(),
            ));
        }
        Client::builder(self.endpoint_or_default(), token)
            .timeout(self.timeout())
            .danger_accept_invalid_certs(self.accept_invalid_certs)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let config = ClientConfig {
            token: Some(Token::new("s3cr3t-value")),
            ..ClientConfig::default()
        };
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    #[test]
    fn defaults_and_errors() {
        let config = ClientConfig::default();
        assert_eq!(config.endpoint_or_default(), DEFAULT_ENDPOINT);
        assert_eq!(config.timeout(), DEFAULT_TIMEOUT);
        assert!(matches!(config.build(), Err(Error::Config(m)) if m.what.contains("no API token")));
        let zero = ClientConfig {
            token: Some(Token::new("t")),
            timeout_secs: 0,
            ..ClientConfig::default()
        };
        assert!(matches!(zero.build(), Err(Error::Config(m)) if m.what.contains("timeout")));
    }
}
