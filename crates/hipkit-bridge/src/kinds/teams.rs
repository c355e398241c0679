//! Microsoft Teams Workflows webhooks: `POST {url}` with a message carrying one Adaptive
//! Card, as `hipkit-translate` builds it.
//! <https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>

/// `kind = "teams"`: `url` (the workflow's webhook URL, a secret).
pub type TeamsConfig = super::HookConfig;
