//! Rocket.Chat incoming webhooks: `POST {url}` with `text`, optional `channel`, `alias`
//! (the username shown) and `avatar`.
//! <https://docs.rocket.chat/use-rocket.chat/workspace-administration/integrations>

use super::{Hook, HookConfig, Kind, plain_text};
use crate::accepted::Accepted;
use crate::config::ConfigError;
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_transport::TransportError;
use serde::Deserialize;
use serde_json::json;

/// `kind = "rocketchat"`: `url`, optional `channel`, `username` (sent as `alias`), `icon_url`
/// (sent as `avatar`).
#[derive(Debug, Clone, Deserialize)]
pub struct RocketChatConfig {
    /// The webhook.
    #[serde(flatten)]
    pub hook: HookConfig,
}

/// A Rocket.Chat webhook.
pub struct RocketChat(Hook);

impl RocketChatConfig {
    /// Reads the webhook URL.
    pub fn build(&self, name: &str) -> Result<RocketChat, ConfigError> {
        Ok(RocketChat(self.hook.build(name)?))
    }
}

#[async_trait]
impl Kind for RocketChat {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let mut body = json!({ "text": plain_text(accepted) });
        if let Some(channel) = &self.0.channel {
            body["channel"] = json!(channel);
        }
        if let Some(alias) = &self.0.username {
            body["alias"] = json!(alias);
        }
        if let Some(avatar) = &self.0.icon_url {
            body["avatar"] = json!(avatar);
        }
        sender.send(&Request::json(self.0.url.clone(), &body)).await
    }
}
