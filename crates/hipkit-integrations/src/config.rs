//! The `[integrations]` configuration section.

use crate::secret::SecretSource;
use crate::tokens::TokenSpec;
use hipchat::jwt::JwtSecret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `[integrations]`: the folder, the runtimes' limits, tokens and webhook authentication.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationsConfig {
    /// The integrations folder (`NAME.py` scripts and executables); none: integrations off
    /// under `serve`.
    pub path: Option<PathBuf>,
    /// The Python 3 interpreter that hosts `NAME.py` integrations.
    pub python: String,
    /// Longest a call may run before its runtime is killed, in seconds.
    pub timeout_secs: u64,
    /// Calls of one integration running at once; more wait for a free slot until their
    /// deadline.
    pub concurrency: usize,
    /// Output (log lines, prints, the reply) an integration may produce per second before
    /// it is killed as flooding, in bytes.
    pub max_output_bytes: usize,
    /// Most bytes one integration may store (its keys plus their values as compact JSON).
    pub storage_max_bytes: u64,
    /// Most keys one integration may store.
    pub storage_max_keys: u64,
    /// Token specs, `NAME:TOKEN` (global) or `ROOM_ID:INTEGRATION:TOKEN`.
    pub tokens: Vec<TokenSpec>,
    /// A file with one token spec per line (`#` comments), read at start.
    pub tokens_file: Option<PathBuf>,
    /// Give each integration only its own tokens in `all_tokens` (the seed gave all).
    pub scoped_tokens: bool,
    /// HS256 secret webhooks must be signed with (`Authorization: JWT` or `signed_request`);
    /// none: webhooks are not authenticated (bind loopback).
    pub jwt_secret: Option<JwtSecret>,
    /// Per-integration secrets, overriding `jwt_secret` for that integration.
    pub jwt_secrets: BTreeMap<String, JwtSecret>,
    /// The `iss` (OAuth client id) signed webhooks must carry; none: any issuer.
    pub jwt_issuer: Option<String>,
    /// Room id → the JWT issuer (installation) whose webhooks that room takes: its tokens
    /// are handed only to calls signed by that issuer.
    pub room_issuers: BTreeMap<String, String>,
    /// Under `serve`, also take webhooks at `POST /` (existing HipChat configurations).
    pub root_hook: bool,
    /// Watch the folder and pick up new, changed and removed integrations at once.
    pub watch: bool,
    /// Integrations (or `name subcommand` commands) whose Slack and Mattermost replies only
    /// the caller sees (`ephemeral`); the others answer in the channel.
    pub ephemeral: Vec<String>,
    /// `[integrations.slack]`: Slack slash commands at `POST /hooks/slack`.
    pub slack: SlackConfig,
    /// `[integrations.mattermost]`: Mattermost slash commands at `POST /hooks/mattermost`.
    pub mattermost: MattermostConfig,
}

/// `[integrations.slack]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// The app's signing secret (Slack's "Signing Secret"); none: `/hooks/slack` refuses all.
    pub signing_secret: Option<SecretSource>,
}

/// `[integrations.mattermost]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MattermostConfig {
    /// The tokens Mattermost shows for each slash command; none: `/hooks/mattermost`
    /// refuses all.
    pub tokens: Vec<SecretSource>,
}

impl Default for IntegrationsConfig {
    fn default() -> Self {
        Self {
            path: None,
            python: "python3".into(),
            timeout_secs: 10,
            concurrency: 8,
            max_output_bytes: 1 << 20,
            storage_max_bytes: 32 << 20,
            storage_max_keys: 10_000,
            tokens: Vec::new(),
            tokens_file: None,
            scoped_tokens: false,
            jwt_secret: None,
            jwt_secrets: BTreeMap::new(),
            jwt_issuer: None,
            room_issuers: BTreeMap::new(),
            root_hook: false,
            watch: true,
            ephemeral: Vec::new(),
            slack: SlackConfig::default(),
            mattermost: MattermostConfig::default(),
        }
    }
}

impl IntegrationsConfig {
    /// The per-call time limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The secret webhooks for `integration` must be signed with, if any.
    pub fn jwt_secret_for(&self, integration: &str) -> Option<&JwtSecret> {
        self.jwt_secrets
            .get(integration)
            .or(self.jwt_secret.as_ref())
    }
}

impl std::fmt::Debug for IntegrationsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationsConfig")
            .field("path", &self.path)
            .field("python", &self.python)
            .field("timeout_secs", &self.timeout_secs)
            .field("concurrency", &self.concurrency)
            .field("max_output_bytes", &self.max_output_bytes)
            .field("storage_max_bytes", &self.storage_max_bytes)
            .field("storage_max_keys", &self.storage_max_keys)
            .field("tokens", &self.tokens.len())
            .field("tokens_file", &self.tokens_file)
            .field("scoped_tokens", &self.scoped_tokens)
            .field("jwt_secret", &self.jwt_secret)
            .field("jwt_secrets", &self.jwt_secrets.keys().collect::<Vec<_>>())
            .field("jwt_issuer", &self.jwt_issuer)
            .field("room_issuers", &self.room_issuers)
            .field("root_hook", &self.root_hook)
            .field("watch", &self.watch)
            .field("ephemeral", &self.ephemeral)
            .field("slack", &self.slack)
            .field("mattermost", &self.mattermost)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_unknown_keys_and_redaction() {
        let c: IntegrationsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c.timeout(), Duration::from_secs(10));
        assert!(serde_json::from_str::<IntegrationsConfig>(r#"{"pth": "x"}"#).is_err());
        let c: IntegrationsConfig = serde_json::from_str(
            r#"{"tokens": ["echo:s3cret:x"], "jwt_secret": "top", "jwt_secrets": {"echo": "mine"}}"#,
        )
        .unwrap();
        assert_eq!(c.jwt_secret_for("echo"), Some(&JwtSecret::new("mine")));
        assert_eq!(c.jwt_secret_for("other"), Some(&JwtSecret::new("top")));
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("top") && !shown.contains("mine"));
    }
}
