//! The target platforms and their config names.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// The chat systems a HipChat message can be translated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Slack incoming webhook (mrkdwn, legacy attachments).
    Slack,
    /// Mattermost incoming webhook (Markdown, Slack-style attachments).
    Mattermost,
    /// Rocket.Chat incoming webhook (its Markdown, attachments with hex colours).
    RocketChat,
    /// Discord webhook (Markdown in embeds).
    Discord,
    /// Microsoft Teams Workflows webhook (an Adaptive Card).
    Teams,
    /// Zulip `POST /api/v1/messages` (Markdown `content`).
    Zulip,
    /// Matrix `m.room.message` (HTML `formatted_body` and a plain-text `body`).
    Matrix,
}

impl Platform {
    /// Every platform, in documentation order.
    pub const ALL: [Platform; 7] = [
        Platform::Slack,
        Platform::Mattermost,
        Platform::RocketChat,
        Platform::Discord,
        Platform::Teams,
        Platform::Zulip,
        Platform::Matrix,
    ];

    /// The config name (`kind = "..."`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Mattermost => "mattermost",
            Platform::RocketChat => "rocketchat",
            Platform::Discord => "discord",
            Platform::Teams => "teams",
            Platform::Zulip => "zulip",
            Platform::Matrix => "matrix",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform name that is none of the config names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not one of: slack, mattermost, rocketchat, discord, teams, zulip, matrix")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_round_trip_through_fromstr_and_serde() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
            assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), p);
        }
        assert!(
            "rocket.chat"
                .parse::<Platform>()
                .unwrap_err()
                .to_string()
                .contains("rocketchat")
        );
    }
}
