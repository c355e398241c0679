//! HipChatStatusPush: a room notification and/or a private message per build event, routed
//! by builder name, Buildbot's text by default, templates or a [`HipChatFormatter`] to
//! change it. Messages are handed to a `Transport` (the durable outbox under `serve`).

pub(crate) mod config;
mod format;
mod request;

#[cfg(test)]
mod tests;

pub use config::{HipChatConfig, NOTIFICATION_FIELDS, RecipientTemplates, Wants};
pub use format::{ConfiguredFormatter, FormatError, HipChatFormatter, Recipients, ReportContext};

use crate::{Build, Event};
use hipkit_transport::Message;
use std::sync::Arc;

/// One HipChat reporter: its configuration and its hooks.
#[derive(Clone)]
pub struct HipChatReporter {
    config: HipChatConfig,
    formatter: Arc<dyn HipChatFormatter>,
}

impl std::fmt::Debug for HipChatReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HipChatReporter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HipChatReporter {
    /// A reporter using its configured templates (or Buildbot's defaults).
    pub fn new(config: HipChatConfig) -> Self {
        Self::with_formatter(config, Arc::new(ConfiguredFormatter))
    }

    /// A reporter whose hooks are `formatter`'s.
    pub fn with_formatter(config: HipChatConfig, formatter: Arc<dyn HipChatFormatter>) -> Self {
        Self { config, formatter }
    }

    /// Its configuration.
    pub fn config(&self) -> &HipChatConfig {
        &self.config
    }

    /// The messages for `build` at `event`, user first (the generator already said yes).
    pub fn messages(&self, build: &Build, event: Event) -> Result<Vec<Message>, FormatError> {
        let view = self.config.wants.view(&build.to_value());
        let ctx = ReportContext::new(&view, event, &self.config);
        let recipients = self.formatter.recipients(&ctx)?;
        let message = self.formatter.message(&ctx)?;
        let extra = self.formatter.extra_params(&ctx)?;
        let messages = request::messages(recipients, message, extra)?;
        if self.config.debug {
            for m in &messages {
                tracing::info!(reporter = %self.config.name, to = %m.to, message = %m.body.message, "build status message");
            }
        }
        Ok(messages)
    }
}
