//! One [`Settings`] per command, resolved in one place: defaults (each section's own) <
//! `hipkit.toml` < environment < command-line flags.
//!
//! Every file key can also be set as `HIPKIT_<SECTION>__<KEY>` (e.g.
//! `HIPKIT_DELIVERY__CONCURRENCY=16`); the documented names in [`ENV_ALIASES`]
//! (`HIPCHAT_API_TOKEN`, djhipchat2's `HIPCHAT_DEFAULT_SENDER` and `HIPCHAT_BACKEND`, ...)
//! win over those. Each section belongs to the crate that builds its runtime from it.

mod error;
mod explain;
mod sources;

pub use error::SettingsError;
pub use explain::{Explained, REDACTED};
pub use sources::{ENV_ALIASES, Overrides};

use figment::Figment;
use figment::providers::{Format, Toml};
use hipkit_transport::outbox::DeliveryMetrics;
use hipkit_transport::{BuildError, DeliveryBackend, Transport};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file read when no `--config` / `HIPKIT_CONFIG` names one (optional).
pub const DEFAULT_CONFIG_FILE: &str = "hipkit.toml";

/// Every section of `hipkit.toml`, each owned by the crate that uses it.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `[hipchat]`: the HipChat server, token and request limits.
    pub hipchat: hipchat::ClientConfig,
    /// `[delivery]`: how messages leave (transport, outbox workers, retries).
    pub delivery: hipkit_transport::DeliveryConfig,
    /// `[store]`: where the outbox (and other state) lives.
    pub store: hipkit_store::StoreConfig,
    /// `[serve]`: the HTTP service's address, API token and limits.
    pub serve: hipkit_server::ServerConfig,
    /// `[emulator]`: `hipkit emulator`, and the one `serve` starts when no endpoint is set.
    pub emulator: hipkit_emulator::EmulatorConfig,
    /// `[[reporters.hipchat]]`, `[[reporters.http]]`, `[reporters.relay]`: build status.
    pub reporters: hipkit_status::ReportersConfig,
    /// `[log]`: the room `serve` posts its warnings and errors to (hipkit-log).
    pub log: hipkit_log::LogConfig,
    /// `[integrations]`: slash-command integrations (`hipkit integrations`, and `serve` when
    /// `path` is set).
    pub integrations: hipkit_integrations::IntegrationsConfig,
    /// `[bridge]`: HipChat API calls accepted on their own listener and delivered to other
    /// chat systems (`serve`, when it sets `listen`, rooms or destinations).
    pub bridge: hipkit_bridge::BridgeConfig,
}

impl Settings {
    /// Resolves the settings: `config_file` (must exist when given; otherwise `hipkit.toml`
    /// if present), then the environment, then `overrides` (the command line).
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Self, SettingsError> {
        Self::figment(config_file, overrides)?
            .extract_lossy()
            .map_err(SettingsError::from)
    }

    /// Settings for a library user: `HIPKIT_CONFIG` or `hipkit.toml`, then the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        let file = std::env::var_os("HIPKIT_CONFIG").map(PathBuf::from);
        Self::load(file.as_deref(), &Overrides::default())
    }

    /// Builds the `[delivery]` backend on the `[store]` database (opened only by the
    /// `outbox` backend), sending through `inner`.
    pub async fn delivery_backend(
        &self,
        inner: Arc<dyn Transport>,
        metrics: Arc<DeliveryMetrics>,
    ) -> Result<DeliveryBackend, BuildError> {
        self.delivery
            .build(
                &hipkit_store::SharedStore::new(self.store.clone()),
                inner,
                metrics,
            )
            .await
    }

    /// The layered sources, lowest precedence first.
    fn figment(
        config_file: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Figment, SettingsError> {
        let path = match config_file {
            Some(p) if !p.exists() => return Err(SettingsError::MissingFile(p.to_path_buf())),
            Some(p) => p.to_path_buf(),
            None => PathBuf::from(DEFAULT_CONFIG_FILE),
        };
        let figment = Figment::new()
            .merge(Toml::file(path))
            .merge(sources::SectionEnv::new())
            .merge(sources::DocumentedEnv);
        overrides.apply(figment)
    }
}

#[cfg(test)]
mod tests;
