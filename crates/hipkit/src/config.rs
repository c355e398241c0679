//! Layered configuration: flags > environment > `hipkit.toml` > defaults.

use crate::failure::Failure;
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where `hipkit send` goes when nothing else is configured: the emulator's default address
/// (HipChat Cloud no longer exists, so there is no public default).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8180";

/// The `hipkit.toml` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[hipchat]`: the server to talk to.
    #[serde(default)]
    pub hipchat: HipchatSection,
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
        .extract()
        .map_err(|e| Failure::Usage(format!("config file {}: {e}", path.display())))
}
