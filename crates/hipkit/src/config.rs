//! Layered configuration: flags > environment > `hipkit.toml` > defaults.
//!
//! Flags and the documented variables (`HIPCHAT_*`, `HIPKIT_LISTEN`, ...) are read by clap;
//! every other file setting can also be set as `HIPKIT_<SECTION>__<KEY>`, e.g.
//! `HIPKIT_DELIVERY__CONCURRENCY=16`.

use crate::failure::Failure;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where `hipkit send` goes when nothing else is configured: the emulator's default address
/// (HipChat Cloud no longer exists, so there is no public default).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8180";

/// The `hipkit.toml` file (and `HIPKIT_<SECTION>__<KEY>` variables).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[hipchat]`: the server to talk to.
    #[serde(default)]
    pub hipchat: HipchatSection,
    /// `[delivery]`: how messages leave.
    #[serde(default)]
    pub delivery: DeliverySection,
    /// `[store]`: where the outbox lives.
    #[serde(default)]
    pub store: StoreSection,
    /// `[serve]`: the HTTP service.
    #[serde(default)]
    pub serve: ServeSection,
    /// `[emulator]`: the built-in emulator `serve` starts when no endpoint is configured.
    #[serde(default)]
    pub emulator: EmulatorSection,
}

/// `[hipchat]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HipchatSection {
    /// Base URL.
    pub endpoint: Option<String>,
    /// API token.
    pub token: Option<hipchat::Token>,
    /// Default `from` label for notifications.
    pub default_sender: Option<String>,
    /// Request timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// Accept invalid TLS certificates.
    pub accept_invalid_certs: Option<bool>,
}

impl std::fmt::Debug for HipchatSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HipchatSection")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token)
            .field("default_sender", &self.default_sender)
            .finish_non_exhaustive()
    }
}

/// `[delivery]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    /// `http`, `memory`, `null`, `file` or `outbox` (or a djhipchat2 dotted path).
    pub backend: Option<String>,
    /// JSON-lines file for the `file` backend.
    pub file_path: Option<PathBuf>,
    /// Deliveries in flight at once (outbox).
    pub concurrency: Option<usize>,
    /// Attempts before a message goes dead.
    pub max_attempts: Option<u32>,
    /// Age in seconds after which a failing message goes dead.
    pub max_age_secs: Option<u64>,
    /// Lease in seconds for a message being delivered.
    pub lease_secs: Option<u64>,
    /// First backoff delay in milliseconds.
    pub backoff_min_ms: Option<u64>,
    /// Largest backoff delay in milliseconds.
    pub backoff_max_ms: Option<u64>,
}

/// `[store]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// SQLite database file.
    pub path: Option<PathBuf>,
}

/// `[serve]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// Bearer token required on `/api/*` (none: open, for loopback use).
    pub api_token: Option<hipchat::Token>,
    /// Largest request body in bytes.
    pub max_body_bytes: Option<usize>,
    /// Per-request timeout in seconds.
    pub request_timeout_secs: Option<u64>,
}

impl std::fmt::Debug for ServeSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeSection")
            .field("listen", &self.listen)
            .field("api_token", &self.api_token)
            .finish_non_exhaustive()
    }
}

/// `[emulator]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorSection {
    /// Listen address of the built-in emulator.
    pub listen: Option<SocketAddr>,
    /// Rooms the built-in emulator starts with (default: `Build Room`).
    pub rooms: Option<Vec<String>>,
}

/// Loads the file: an explicit path must exist; the implicit `hipkit.toml` is optional.
pub fn load(explicit: Option<&Path>) -> Result<FileConfig, Failure> {
    let path: PathBuf = match explicit {
        Some(p) if !p.exists() => {
            return Err(Failure::Usage(format!(
                "config file {} does not exist",
                p.display()
            )));
        }
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("hipkit.toml"),
    };
    Figment::new()
        .merge(Toml::file(&path))
        .merge(
            Env::prefixed("HIPKIT_")
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        )
        .extract()
        .map_err(|e| Failure::Usage(format!("configuration ({}): {e}", path.display())))
}
