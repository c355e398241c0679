//! Discord webhooks: `POST {url}` with `content` (2,000 characters: longer messages are sent
//! as ordered parts), an optional `username`, and `allowed_mentions` that ping nobody.
//! Discord's 429s carry `retry_after` in the body, which [`crate::deliver::send`] honours.
//! <https://discord.com/developers/docs/resources/webhook#execute-webhook>

use super::{Hook, HookConfig, Kind, plain_text, split};
use crate::accepted::Accepted;
use crate::config::ConfigError;
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_transport::TransportError;
use serde::Deserialize;
use serde_json::json;

/// Discord's `content` limit.
const MAX_CONTENT: usize = 2000;

/// `kind = "discord"`: `url`, optional `username`, `icon_url` (sent as `avatar_url`).
#[derive(Debug, Clone, Deserialize)]
pub struct DiscordConfig {
    /// The webhook.
    #[serde(flatten)]
    pub hook: HookConfig,
}

/// A Discord webhook.
pub struct Discord(Hook);

impl DiscordConfig {
    /// Reads the webhook URL.
    pub fn build(&self, name: &str) -> Result<Discord, ConfigError> {
        Ok(Discord(self.hook.build(name)?))
    }
}

#[async_trait]
impl Kind for Discord {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        for part in split(&plain_text(accepted), MAX_CONTENT) {
            let mut body = json!({ "content": part, "allowed_mentions": { "parse": [] } });
            if let Some(username) = accepted.author().or(self.0.username.as_deref()) {
                body["username"] = json!(username);
            }
            if let Some(avatar) = &self.0.icon_url {
                body["avatar_url"] = json!(avatar);
            }
            sender
                .send(&Request::json(self.0.url.clone(), &body))
                .await?;
        }
        Ok(())
    }
}
