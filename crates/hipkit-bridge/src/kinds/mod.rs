//! One module per destination kind: its settings (which build its runtime) and its request
//! building; sending and the reading of answers are [`crate::deliver::send`]'s, shared.

pub mod discord;
pub mod hipchat;
pub mod matrix;
pub mod mattermost;
pub mod rocketchat;
pub mod slack;
pub mod teams;
pub mod webhook;
pub mod zulip;

use crate::accepted::Accepted;
use crate::config::{ConfigError, SecretSource};
use crate::deliver::Sender;
use ::hipchat::Token;
use async_trait::async_trait;
use hipkit_transport::TransportError;

/// A destination kind's runtime: delivers one accepted call.
#[async_trait]
pub trait Kind: Send + Sync {
    /// Renders `accepted` for the platform and sends it (in order, when it takes several
    /// requests) through `sender`.
    async fn deliver(&self, accepted: &Accepted, sender: &Sender<'_>)
    -> Result<(), TransportError>;
}

/// Reads a destination's secret, naming the destination when it cannot.
fn secret(name: &str, source: &SecretSource) -> Result<Token, ConfigError> {
    source.resolve().map_err(|source| ConfigError::Secret {
        name: name.to_owned(),
        source,
    })
}

/// Checks that a URL setting is an absolute http(s) URL, without showing it (it may hold a
/// secret).
fn checked_url(name: &str, key: &str, url: &Token) -> Result<String, ConfigError> {
    match reqwest::Url::parse(url.expose()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url.expose().to_owned()),
        _ => Err(ConfigError::Destination {
            name: name.to_owned(),
            message: format!("`{key}` is not an http(s) URL"),
        }),
    }
}

/// The settings of the incoming-webhook kinds (Slack, Mattermost, Rocket.Chat, Discord,
/// Teams): the webhook URL (a secret) and what the platform lets a webhook override.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HookConfig {
    /// The webhook URL: inline, `{ env = "NAME" }` or `{ file = "path" }`.
    pub url: SecretSource,
    /// Channel override (Mattermost, Rocket.Chat; legacy Slack webhooks).
    #[serde(default)]
    pub channel: Option<String>,
    /// Username override (Mattermost, Rocket.Chat, Discord); the message's `from` wins.
    #[serde(default)]
    pub username: Option<String>,
    /// Icon / avatar URL override.
    #[serde(default)]
    pub icon_url: Option<String>,
}

/// A webhook kind's runtime settings.
#[derive(Clone)]
pub struct Hook {
    /// The URL (secret).
    pub url: String,
    /// Channel override.
    pub channel: Option<String>,
    /// Username override.
    pub username: Option<String>,
    /// Icon override.
    pub icon_url: Option<String>,
}

impl HookConfig {
    /// Reads the URL and checks it.
    fn build(&self, name: &str) -> Result<Hook, ConfigError> {
        let url = secret(name, &self.url)?;
        Ok(Hook {
            url: checked_url(name, "url", &url)?,
            channel: self.channel.clone(),
            username: self.username.clone(),
            icon_url: self.icon_url.clone(),
        })
    }
}

/// The text every kind starts from until per-platform translation renders it: the author
/// label, then the message.
pub fn plain_text(accepted: &Accepted) -> String {
    match accepted.author() {
        Some(author) => format!("{author}: {}", accepted.text()),
        None => accepted.text(),
    }
}

/// Splits `text` into parts of at most `max` characters, in order, never losing any.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(max.max(1))
        .map(|c| c.iter().collect())
        .collect()
}
