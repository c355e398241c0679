//! Rocket.Chat incoming webhooks: `POST {url}` with the bodies `hipkit-translate` builds and
//! the optional `channel` override (RocketChat/Rocket.Chat
//! `packages/rocketchat-integrations/server/processWebhookMessage.js`).

/// `kind = "rocketchat"`: `url`, optional `channel`, `username`, `icon_url`.
pub type RocketChatConfig = super::HookConfig;
