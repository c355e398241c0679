//! `[[bridge.destinations]]`: one table per destination, its `kind` choosing the keys; each
//! kind's settings build that kind's runtime (vector's `SinkConfig::build`).

use super::ConfigError;
use crate::deliver::Destination;
use crate::kinds;
use hipkit_translate::Platform;
use serde::Deserialize;
use std::time::Duration;

/// One destination: a name rooms send to, pacing, and its kind's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct DestinationConfig {
    /// The name `[[bridge.rooms]] to` lists (and parcels name as their courier).
    pub name: String,
    /// The least time between two requests to it (Slack: about one message a second per
    /// webhook, so 1000 by default; 0 for the other kinds).
    #[serde(default)]
    pub min_interval_ms: Option<u64>,
    /// The kind and its keys.
    #[serde(flatten)]
    pub kind: KindConfig,
}

/// The kinds of destination and their keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum KindConfig {
    /// A Slack incoming webhook.
    Slack(kinds::slack::SlackConfig),
    /// A Mattermost incoming webhook.
    Mattermost(kinds::mattermost::MattermostConfig),
    /// A Rocket.Chat incoming webhook.
    Rocketchat(kinds::rocketchat::RocketChatConfig),
    /// A Discord webhook.
    Discord(kinds::discord::DiscordConfig),
    /// A Microsoft Teams Workflows webhook (Adaptive Cards).
    Teams(kinds::teams::TeamsConfig),
    /// Zulip's messages API (a bot's e-mail and API key, a stream and topic).
    Zulip(kinds::zulip::ZulipConfig),
    /// A Matrix room through the client-server API.
    Matrix(kinds::matrix::MatrixConfig),
    /// Any URL, the body a minijinja template.
    Webhook(kinds::webhook::WebhookConfig),
    /// A real or emulated HipChat (migrations).
    Hipchat(kinds::hipchat::HipChatConfig),
}

impl KindConfig {
    /// The kind's name as configured.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Slack(_) => "slack",
            Self::Mattermost(_) => "mattermost",
            Self::Rocketchat(_) => "rocketchat",
            Self::Discord(_) => "discord",
            Self::Teams(_) => "teams",
            Self::Zulip(_) => "zulip",
            Self::Matrix(_) => "matrix",
            Self::Webhook(_) => "webhook",
            Self::Hipchat(_) => "hipchat",
        }
    }
}

impl DestinationConfig {
    /// Builds the destination: its secrets read, its settings checked.
    pub fn build(&self) -> Result<Destination, ConfigError> {
        let name = &self.name;
        let kind: Box<dyn kinds::Kind> = match &self.kind {
            KindConfig::Slack(c) => Box::new(c.build_for(Platform::Slack, name)?),
            KindConfig::Mattermost(c) => Box::new(c.build_for(Platform::Mattermost, name)?),
            KindConfig::Rocketchat(c) => Box::new(c.build_for(Platform::RocketChat, name)?),
            KindConfig::Discord(c) => Box::new(c.build_for(Platform::Discord, name)?),
            KindConfig::Teams(c) => Box::new(c.build_for(Platform::Teams, name)?),
            KindConfig::Zulip(c) => Box::new(c.build(name)?),
            KindConfig::Matrix(c) => Box::new(c.build(name)?),
            KindConfig::Webhook(c) => Box::new(c.build(name)?),
            KindConfig::Hipchat(c) => Box::new(c.build(name)?),
        };
        let default_ms = match self.kind {
            KindConfig::Slack(_) => 1000,
            _ => 0,
        };
        Ok(Destination::new(
            name.clone(),
            self.kind.name(),
            Duration::from_millis(self.min_interval_ms.unwrap_or(default_ms)),
            kind,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_reads_its_kind_and_translation_choices() {
        let d: DestinationConfig = serde_json::from_value(serde_json::json!({
            "name": "ops-slack",
            "kind": "slack",
            "url": "https://hooks.slack.test/services/T/B/x",
            "mass_mention": true,
            "author": "prefix",
        }))
        .unwrap();
        let KindConfig::Slack(hook) = &d.kind else {
            panic!("{d:?}")
        };
        assert!(hook.options.mass_mention);
        assert_eq!(hook.options.author, hipkit_translate::AuthorLabel::Prefix);
        assert_eq!(d.build().unwrap().kind_name(), "slack");
        let refused = DestinationConfig {
            name: "bad".into(),
            min_interval_ms: None,
            kind: serde_json::from_value(serde_json::json!({"kind": "teams", "url": "ftp://x"}))
                .unwrap(),
        };
        let e = refused.build().unwrap_err().to_string();
        assert!(
            e.contains("`url` is not an http(s) URL") && !e.contains("ftp"),
            "{e}"
        );
    }
}
