//! Discord webhooks: `POST {url}` with the bodies `hipkit-translate` builds (embeds, and
//! `allowed_mentions` that ping nobody unless configured). Discord's 429s carry
//! `retry_after` in the body, which [`crate::deliver::send`] honours.
//! <https://discord.com/developers/docs/resources/webhook#execute-webhook>

/// `kind = "discord"`: `url`, optional `username`, `icon_url`.
pub type DiscordConfig = super::HookConfig;
