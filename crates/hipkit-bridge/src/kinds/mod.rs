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
use crate::deliver::{Request, Sender};
use ::hipchat::Token;
use async_trait::async_trait;
use hipkit_translate::{Options, Outgoing, Platform, SharedFile, translate};
use hipkit_transport::TransportError;
use serde_json::Value;

/// A destination kind's runtime: delivers one accepted call.
#[async_trait]
pub trait Kind: Send + Sync {
    /// Renders `accepted` for the platform and sends it (in order, when it takes several
    /// requests) through `sender`.
    async fn deliver(&self, accepted: &Accepted, sender: &Sender<'_>)
    -> Result<(), TransportError>;

    /// Whether it uploads shared files (their bytes are then kept with its parcels); kinds
    /// that cannot name the file instead.
    fn takes_files(&self) -> bool {
        false
    }
}

/// Reads a destination's secret `key`, naming the destination and the key when it cannot.
fn secret(name: &str, key: &str, source: &SecretSource) -> Result<Token, ConfigError> {
    source.read(key).map_err(|source| ConfigError::Secret {
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
/// Teams): the webhook URL (a secret), the channel override, and the translation's choices
/// (`mass_mention`, `author`, `username`, `icon_url`, `mentions`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// The webhook URL: inline, `{ env = "NAME" }` or `{ file = "path" }`.
    pub url: SecretSource,
    /// Channel override (Mattermost, Rocket.Chat; legacy Slack webhooks).
    #[serde(default)]
    pub channel: Option<String>,
    /// How the message is translated for the platform.
    #[serde(flatten)]
    pub options: Options,
}

/// A webhook kind's runtime settings.
#[derive(Clone)]
pub struct Hook {
    /// The URL (secret).
    pub url: String,
    /// Channel override.
    pub channel: Option<String>,
    /// The translation's choices.
    pub options: Options,
}

impl HookConfig {
    /// Reads the URL and checks it.
    fn build(&self, name: &str) -> Result<Hook, ConfigError> {
        let url = secret(name, "url", &self.url)?;
        Ok(Hook {
            url: checked_url(name, "url", &url)?,
            channel: self.channel.clone(),
            options: self.options.clone(),
        })
    }
}

impl HookConfig {
    /// The runtime of an incoming webhook of `platform`.
    pub fn build_for(&self, platform: Platform, name: &str) -> Result<Hooked, ConfigError> {
        Ok(Hooked {
            platform,
            hook: self.build(name)?,
        })
    }
}

/// An incoming webhook of one platform (the kinds that differ only in their bodies, which
/// `hipkit-translate` builds).
pub struct Hooked {
    platform: Platform,
    hook: Hook,
}

#[async_trait]
impl Kind for Hooked {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        // Discord and Teams webhooks post to their own channel only.
        let takes_channel = matches!(
            self.platform,
            Platform::Slack | Platform::Mattermost | Platform::RocketChat
        );
        let bodies = translated(self.platform, accepted, &self.hook.options, None);
        sender.plan(bodies.len());
        // A Discord webhook takes files: the last part carries the shared file.
        let file = accepted
            .file
            .as_ref()
            .filter(|_| self.takes_files())
            .and_then(|f| f.bytes().map(|data| (f, data)));
        let last = bodies.len().saturating_sub(1);
        for (n, mut body) in bodies.into_iter().enumerate() {
            if takes_channel && let Some(channel) = &self.hook.channel {
                body["channel"] = serde_json::json!(channel);
            }
            let request = match &file {
                Some((note, data)) if n == last => {
                    discord::with_file(&self.hook.url, body, note, data)
                }
                _ => Request::json(self.hook.url.clone(), &body),
            };
            sender.send(&request).await?;
        }
        Ok(())
    }

    fn takes_files(&self) -> bool {
        self.platform == Platform::Discord
    }
}

/// The platform's request bodies for `accepted`, in posting order (`hipkit-translate`): the
/// call's format and author label made explicit (HipChat's defaults differ per call), the
/// shared file named with its size (linked to `file_url` when it was uploaded there).
pub fn translated(
    platform: Platform,
    accepted: &Accepted,
    options: &Options,
    file_url: Option<&str>,
) -> Vec<Value> {
    let mut notification = accepted.message.clone();
    notification.message_format = Some(accepted.format());
    notification.from = accepted.author().map(str::to_owned);
    let file = accepted.file.as_ref().map(|f| SharedFile {
        name: &f.name,
        size: f.size,
        url: file_url,
    });
    translate(
        platform,
        &Outgoing {
            notification: &notification,
            file,
        },
        options,
    )
}

/// The message as plain text with its author label in front (the webhook template's `text`).
pub fn plain_text(accepted: &Accepted) -> String {
    match accepted.author() {
        Some(author) => format!("{author}: {}", accepted.text()),
        None => accepted.text(),
    }
}
