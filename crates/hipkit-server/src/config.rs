//! The `[serve]` configuration section.

use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// `[serve]`: where the HTTP service listens and the limits it applies to every request.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Bearer token required on protected routes (`/api/*`); none: open, for loopback use.
    pub api_token: Option<hipchat::Token>,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Per-request time limit in seconds.
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_token: None,
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 10,
        }
    }
}

impl ServerConfig {
    /// The per-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("api_token", &self.api_token)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .finish()
    }
}
