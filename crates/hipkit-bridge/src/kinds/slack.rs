//! Slack incoming webhooks: `POST {url}` with the bodies `hipkit-translate` builds (legacy
//! attachments in mrkdwn; `channel` only for legacy custom-integration webhooks). Slack takes
//! about one message a second per webhook: the destination's pacing defaults to 1000 ms.
//! <https://api.slack.com/messaging/webhooks>

/// `kind = "slack"`: `url` (the webhook URL, a secret), optional `channel`, and the
/// translation's choices.
pub type SlackConfig = super::HookConfig;
