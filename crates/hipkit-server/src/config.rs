//! The `[serve]` configuration section.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// `[serve]`: where the HTTP service listens and the limits it applies to every request.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Bearer token required on protected routes (`/api/*`); none: open, for loopback use.
    #[serde(skip_serializing)]
    pub api_token: Option<hipchat::Token>,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Per-request time limit in seconds (reading the body included).
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's headers; idle keep-alive connections are
    /// closed after as long.
    pub header_read_timeout_secs: u64,
    /// Connections open at once; more clients wait until one closes.
    pub max_connections: usize,
    /// `hipkit serve`: start the built-in emulator even though a HipChat token is configured
    /// (without this, a token with no endpoint is refused: real messages would vanish into it).
    pub emulator: bool,
    /// `hipkit serve`: listen beyond loopback although some entry point takes anonymous
    /// callers (an open relay into the chat); without this, such a start is refused.
    pub unauthenticated_beyond_loopback: bool,
    /// Host names served besides the bound address, `localhost`, `127.0.0.1` and `[::1]`
    /// (`name` for any port, `name:port` for one); any other `Host` is refused with a 421.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_token: None,
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 10,
            header_read_timeout_secs: 10,
            max_connections: 1024,
            emulator: false,
            unauthenticated_beyond_loopback: false,
            allowed_hosts: Vec::new(),
        }
    }
}

/// A `[serve]` value that would silently turn a protection off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `api_token = ""` would otherwise mean "no authentication".
    #[error("[serve] api_token is empty: remove it to run without authentication, or set a token")]
    EmptyApiToken,
    /// A zero limit would refuse or time out every request.
    #[error("[serve] {0} must be at least 1")]
    Zero(&'static str),
    /// An `allowed_hosts` entry is not a host name.
    #[error("[serve] {0}")]
    AllowedHosts(#[from] crate::HostError),
}

impl ServerConfig {
    /// Checks for values that would disable a protection or every request.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self
            .api_token
            .as_ref()
            .is_some_and(|t| t.expose().is_empty())
        {
            return Err(ConfigError::EmptyApiToken);
        }
        for (name, value) in [
            ("request_timeout_secs", self.request_timeout_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("max_connections", self.max_connections as u64),
            ("max_body_bytes", self.max_body_bytes as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        self.hosts()?;
        Ok(())
    }

    /// The parsed `allowed_hosts`.
    pub fn hosts(&self) -> Result<crate::AllowedHosts, crate::HostError> {
        crate::AllowedHosts::parse(&self.allowed_hosts)
    }

    /// The per-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The deadline for a request's headers (and for an idle connection).
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("api_token", &self.api_token)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("emulator", &self.emulator)
            .field(
                "unauthenticated_beyond_loopback",
                &self.unauthenticated_beyond_loopback,
            )
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}
