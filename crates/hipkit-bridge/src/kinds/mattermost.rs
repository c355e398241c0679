//! Mattermost incoming webhooks: `POST {url}` with `text` (Markdown) and the optional
//! `channel`, `username`, `icon_url` overrides.
//! <https://developers.mattermost.com/integrate/webhooks/incoming/>

use super::{Hook, HookConfig, Kind, plain_text, split};
use crate::accepted::Accepted;
use crate::config::ConfigError;
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_transport::TransportError;
use serde::Deserialize;
use serde_json::json;

/// Mattermost splits longer posts itself; hipkit keeps to its limit so the order is its own.
const MAX_TEXT: usize = 16_383;

/// `kind = "mattermost"`: `url`, optional `channel`, `username`, `icon_url`.
#[derive(Debug, Clone, Deserialize)]
pub struct MattermostConfig {
    /// The webhook.
    #[serde(flatten)]
    pub hook: HookConfig,
}

/// A Mattermost webhook.
pub struct Mattermost(Hook);

impl MattermostConfig {
    /// Reads the webhook URL.
    pub fn build(&self, name: &str) -> Result<Mattermost, ConfigError> {
        Ok(Mattermost(self.hook.build(name)?))
    }
}

#[async_trait]
impl Kind for Mattermost {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        for part in split(&plain_text(accepted), MAX_TEXT) {
            let mut body = json!({ "text": part });
            if let Some(channel) = &self.0.channel {
                body["channel"] = json!(channel);
            }
            if let Some(username) = &self.0.username {
                body["username"] = json!(username);
            }
            if let Some(icon) = &self.0.icon_url {
                body["icon_url"] = json!(icon);
            }
            sender
                .send(&Request::json(self.0.url.clone(), &body))
                .await?;
        }
        Ok(())
    }
}
