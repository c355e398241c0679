//! `[[bridge.destinations]]`: one table per destination, its `kind` choosing the keys; each
//! kind's settings build that kind's runtime (vector's `SinkConfig::build`).

use super::ConfigError;
use crate::deliver::Destination;
use crate::kinds;
use hipkit_translate::Platform;
use serde::Deserialize;
use std::time::Duration;

/// One destination: a name rooms send to, pacing, and its kind's settings. A key its kind
/// does not know (a typo of a translation option) is refused, naming the destination.
#[derive(Debug, Clone)]
pub struct DestinationConfig {
    /// The name `[[bridge.rooms]] to` lists (and parcels name as their courier).
    pub name: String,
    /// The least time between two requests to it (Slack: about one message a second per
    /// webhook, so 1000 by default; 0 for the other kinds).
    pub min_interval_ms: Option<u64>,
    /// The kind and its keys.
    pub kind: KindConfig,
}

/// A destination's table as written; each kind's settings refuse unknown keys.
#[derive(Deserialize)]
struct Table {
    name: String,
    #[serde(default)]
    min_interval_ms: Option<u64>,
    #[serde(flatten)]
    kind: KindConfig,
}

impl<'de> Deserialize<'de> for DestinationConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as a plain table first, so that an error can name the destination.
        let table = serde_json::Value::deserialize(deserializer)?;
        let name = table
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned);
        let table = Table::deserialize(&table).map_err(|e| {
            let name = name
                .as_deref()
                .map_or_else(String::new, |n| format!(" `{n}`"));
            let e = e.to_string();
            let hint = did_you_mean(&e);
            serde::de::Error::custom(format!("[[bridge.destinations]]{name}: {e}{hint}"))
        })?;
        Ok(Self {
            name: table.name,
            min_interval_ms: table.min_interval_ms,
            kind: table.kind,
        })
    }
}

/// The backquoted words of a serde error: the unknown field first, then any it lists as
/// expected.
fn quoted(error: &str) -> Vec<&str> {
    error.split('`').skip(1).step_by(2).collect()
}

/// `; did you mean `x`?` for an unknown field close to a key the kind or the translation
/// options know (serde lists the keys of the kinds without translation options; those of
/// the options are asked of `Options` itself).
fn did_you_mean(error: &str) -> String {
    if !error.starts_with("unknown field") {
        return String::new();
    }
    let words = quoted(error);
    let Some((unknown, expected)) = words.split_first() else {
        return String::new();
    };
    let probe = serde_json::json!({ "\u{0}": 0 });
    let options = hipkit_translate::Options::deserialize(&probe)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let common = ["name", "kind", "min_interval_ms"];
    let known: Vec<&str> = expected
        .iter()
        .copied()
        .chain(quoted(&options).into_iter().skip(1))
        .chain(common)
        .filter(|k| k != unknown)
        .collect();
    hipchat::did_you_mean(unknown, &known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
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

/// Shown (by `hipkit config`) as its name, kind and pacing: the kind's keys are URLs with
/// tokens in them, API keys and access tokens.
impl serde::Serialize for DestinationConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut shown = serializer.serialize_struct("DestinationConfig", 3)?;
        shown.serialize_field("name", &self.name)?;
        shown.serialize_field("kind", self.kind.name())?;
        shown.serialize_field("min_interval_ms", &self.min_interval_ms)?;
        shown.end()
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

    #[test]
    fn an_unknown_key_is_refused_naming_the_destination_and_a_near_key() {
        let typo = |table: serde_json::Value| {
            serde_json::from_value::<DestinationConfig>(table)
                .unwrap_err()
                .to_string()
        };
        let e = typo(serde_json::json!({
            "name": "ops-slack", "kind": "slack", "url": "https://hooks.slack.test/x",
            "mass_mentoin": true,
        }));
        assert!(
            e.contains("`ops-slack`") && e.contains("`mass_mentoin`"),
            "{e}"
        );
        assert!(e.ends_with("did you mean `mass_mention`?"), "{e}");
        let e = typo(serde_json::json!({
            "name": "hook", "kind": "webhook", "url": "https://x.test/", "template": "{}",
            "content-type": "text/plain",
        }));
        assert!(
            e.contains("`hook`") && e.contains("did you mean `content_type`?"),
            "{e}"
        );
        let e = typo(serde_json::json!({
            "name": "far", "kind": "matrix", "homeserver": "https://m.test",
            "room_id": "!r:m.test", "access_token": "t", "colour_scheme": "dark",
        }));
        assert!(e.contains("`far`") && e.contains("`colour_scheme`"), "{e}");
        assert!(!e.contains("did you mean"), "{e}");
    }
}
