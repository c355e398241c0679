//! A slash-command request (Slack's and Mattermost's share their form fields) turned into the
//! HipChat `room_message` webhook the integrations already read: `item.message.message` is the
//! command line, `item.message.from` the user (id, name, mention name), `item.room` the HipChat
//! room the channel maps to, else the channel itself.

use super::{MappedRoom, Platform};
use crate::intake::Webhook;
use serde_json::json;

/// The form fields hipkit uses (others are ignored). `Debug` shows the `response_url`'s
/// scheme and host only, and no token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SlashRequest {
    /// `/deploy`.
    pub command: String,
    /// What follows the command.
    pub text: String,
    /// The user's id.
    pub user_id: String,
    /// The user's name.
    pub user_name: String,
    /// The channel's id.
    pub channel_id: String,
    /// The channel's name.
    pub channel_name: String,
    /// The workspace (Slack) or team (Mattermost).
    pub team_domain: String,
    /// Where a late reply goes.
    pub response_url: Option<String>,
    /// Mattermost's command token (Slack's deprecated one is ignored).
    pub token: Option<String>,
    /// Slack's certificate check (`ssl_check=1`): answered 200, runs nothing.
    pub ssl_check: bool,
}

impl std::fmt::Debug for SlashRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self
            .response_url
            .as_deref()
            .map(hipchat::redact_capability_url);
        f.debug_struct("SlashRequest")
            .field("command", &self.command)
            .field("text", &self.text)
            .field("user_id", &self.user_id)
            .field("user_name", &self.user_name)
            .field("channel_id", &self.channel_id)
            .field("channel_name", &self.channel_name)
            .field("team_domain", &self.team_domain)
            .field("response_url", &url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ssl_check", &self.ssl_check)
            .finish()
    }
}

/// Why a verified request cannot be a command (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A field the command needs is missing or empty.
    #[error("the slash-command request has no `{0}`")]
    Missing(&'static str),
    /// `command` is not `/name`.
    #[error("`command` must start with `/`")]
    NotACommand,
    /// `response_url` is not an http(s) URL.
    #[error("`response_url` must be an http(s) URL")]
    ResponseUrl,
}

impl SlashRequest {
    /// Reads the form body (first value of each field wins).
    pub fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in form_urlencoded::parse(body) {
            if !seen.insert(key.clone()) {
                continue;
            }
            let value = value.into_owned();
            match &*key {
                "command" => form.command = value,
                "text" => form.text = value,
                "user_id" => form.user_id = value,
                "user_name" => form.user_name = value,
                "channel_id" => form.channel_id = value,
                "channel_name" => form.channel_name = value,
                "team_domain" => form.team_domain = value,
                "response_url" => form.response_url = Some(value).filter(|v| !v.is_empty()),
                "token" => form.token = Some(value),
                "ssl_check" => form.ssl_check = value == "1",
                _ => {}
            }
        }
        form
    }

    /// Checks what a command needs.
    pub fn check(&self) -> Result<(), RequestError> {
        for (field, value) in [
            ("command", &self.command),
            ("user_id", &self.user_id),
            ("channel_id", &self.channel_id),
        ] {
            if value.trim().is_empty() {
                return Err(RequestError::Missing(field));
            }
        }
        if !self.command.starts_with('/') {
            return Err(RequestError::NotACommand);
        }
        if let Some(url) = &self.response_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(RequestError::ResponseUrl);
        }
        Ok(())
    }

    /// The command line as typed: `/deploy prod now`.
    pub fn line(&self) -> String {
        let text = self.text.trim();
        if text.is_empty() {
            self.command.clone()
        } else {
            format!("{} {text}", self.command)
        }
    }

    /// The HipChat `room_message` webhook for this command, in `room` (the mapped room, else
    /// the channel itself: its id then is the channel's, a string).
    pub fn webhook(
        &self,
        platform: Platform,
        room: Option<MappedRoom>,
    ) -> Result<Webhook, serde_json::Error> {
        let line = self.line();
        let name = if self.user_name.is_empty() {
            &self.user_id
        } else {
            &self.user_name
        };
        let (room_id, room) = match room {
            Some(MappedRoom { id, name }) => (id.to_string(), json!({"id": id, "name": name})),
            None => (
                self.channel_id.clone(),
                json!({"id": self.channel_id, "name": self.channel_name}),
            ),
        };
        let payload = json!({
            "event": "room_message",
            "item": {
                "message": {
                    "date": hipchat::model::now_iso(),
                    "from": {"id": self.user_id, "name": name, "mention_name": name},
                    "mentions": [],
                    "message": line,
                    "type": "message",
                },
                "room": room,
            },
            "slash": {
                "platform": platform.name(),
                "team_domain": self.team_domain,
                "channel_id": self.channel_id,
                "channel_name": self.channel_name,
            },
        });
        Ok(Webhook {
            event: "room_message".to_owned(),
            message: line,
            room_id,
            sender: Some(name.clone()),
            oauth_client_id: None,
            payload: serde_json::value::to_raw_value(&payload)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_a_room_message() {
        let form = SlashRequest::parse(
            b"command=%2Fdeploy&text=prod+now&user_id=U1&user_name=alice&channel_id=C9\
              &channel_name=ops&team_domain=acme&response_url=https%3A%2F%2Fx%2Fy&command=%2Fother",
        );
        assert_eq!(form.check(), Ok(()));
        assert_eq!(form.line(), "/deploy prod now");
        let hook = form.webhook(Platform::Slack, None).unwrap();
        assert_eq!(hook.room_id, "C9");
        let payload: serde_json::Value = serde_json::from_str(hook.payload.get()).unwrap();
        assert_eq!(payload["item"]["message"]["message"], "/deploy prod now");
        assert_eq!(payload["item"]["message"]["from"]["mention_name"], "alice");
        assert_eq!(payload["item"]["room"]["name"], "ops");
        let mapped = MappedRoom {
            id: 7,
            name: "Ops".into(),
        };
        let hook = form.webhook(Platform::Mattermost, Some(mapped)).unwrap();
        assert_eq!(hook.room_id, "7");
        assert_eq!(
            SlashRequest::parse(b"command=deploy&user_id=U&channel_id=C").check(),
            Err(RequestError::NotACommand)
        );
        assert_eq!(
            SlashRequest::parse(b"command=%2Fx&channel_id=C").check(),
            Err(RequestError::Missing("user_id"))
        );
    }

    #[test]
    fn debug_shows_no_token_and_no_response_url_path() {
        let form = SlashRequest::parse(
            b"command=%2Fx&token=t0k3n&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT%2FB%2Fs3cret",
        );
        let shown = format!("{form:?}");
        assert!(
            shown.contains("https://hooks.slack.com/<redacted>"),
            "{shown}"
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0k3n"),
            "{shown}"
        );
    }
}
