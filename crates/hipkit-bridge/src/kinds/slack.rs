//! Slack incoming webhooks: `POST {url}` with `{"text": ...}` (mrkdwn). Slack takes about
//! one message a second per webhook: the destination's pacing defaults to 1000 ms.
//! <https://api.slack.com/messaging/webhooks>

use super::{Hook, HookConfig, Kind, plain_text};
use crate::accepted::Accepted;
use crate::config::ConfigError;
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_transport::TransportError;
use serde::Deserialize;
use serde_json::json;

/// `kind = "slack"`: `url` (the webhook URL, a secret).
#[derive(Debug, Clone, Deserialize)]
pub struct SlackConfig {
    /// The webhook.
    #[serde(flatten)]
    pub hook: HookConfig,
}

/// A Slack webhook.
pub struct Slack(Hook);

impl SlackConfig {
    /// Reads the webhook URL.
    pub fn build(&self, name: &str) -> Result<Slack, ConfigError> {
        Ok(Slack(self.hook.build(name)?))
    }
}

/// `& < >` escaped as Slack's mrkdwn requires.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[async_trait]
impl Kind for Slack {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let mut body = json!({ "text": escape(&plain_text(accepted)) });
        if let Some(channel) = &self.0.channel {
            body["channel"] = json!(channel);
        }
        sender.send(&Request::json(self.0.url.clone(), &body)).await
    }
}
