//! Mattermost incoming webhooks: `POST {url}` with the bodies `hipkit-translate` builds
//! (Markdown, Slack-style attachments) and the optional `channel` override.
//! <https://developers.mattermost.com/integrate/webhooks/incoming/>

/// `kind = "mattermost"`: `url`, optional `channel`, `username`, `icon_url`.
pub type MattermostConfig = super::HookConfig;
