//! Microsoft Teams Workflows webhooks: `POST {url}` with a message carrying one Adaptive
//! Card. <https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>

use super::{Hook, HookConfig, Kind, plain_text};
use crate::accepted::Accepted;
use crate::config::ConfigError;
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_transport::TransportError;
use serde::Deserialize;
use serde_json::json;

/// `kind = "teams"`: `url` (the workflow's webhook URL, a secret).
#[derive(Debug, Clone, Deserialize)]
pub struct TeamsConfig {
    /// The webhook.
    #[serde(flatten)]
    pub hook: HookConfig,
}

/// A Teams workflow webhook.
pub struct Teams(Hook);

impl TeamsConfig {
    /// Reads the webhook URL.
    pub fn build(&self, name: &str) -> Result<Teams, ConfigError> {
        Ok(Teams(self.hook.build(name)?))
    }
}

#[async_trait]
impl Kind for Teams {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{ "type": "TextBlock", "text": plain_text(accepted), "wrap": true }],
        });
        let body = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        });
        sender.send(&Request::json(self.0.url.clone(), &body)).await
    }
}
