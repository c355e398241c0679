//! HttpStatusPush: the build dict POSTed as JSON to `server_url` (exactly as received, or
//! a `payload` template's output), with headers, basic or bearer auth, `verify` and `debug`.
//! Pushes travel as parcels of the outbox's generic HTTP destination: the stored push keeps
//! no secret, and [`live_request`] adds the reporter's credentials when it is delivered.

mod config;
mod request;

#[cfg(test)]
mod tests;

pub use config::{Auth, HttpConfig};
pub use hipkit_transport::push::{HttpPush, PushClient, PushError, PushRequest, Verify};
pub use request::{PayloadError, live_request, push_request};

use crate::{Build, Event};

/// One HTTP reporter.
#[derive(Debug, Clone)]
pub struct HttpReporter {
    config: HttpConfig,
}

impl HttpReporter {
    /// A reporter with this configuration.
    pub fn new(config: HttpConfig) -> Self {
        Self { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The POST for `build` at `event` (the generator already said yes).
    pub fn request(&self, build: &Build, event: Event) -> Result<PushRequest, PayloadError> {
        push_request(&self.config, build, event)
    }

    /// A client with its `verify` and `debug` settings.
    pub fn client(&self) -> Result<PushClient, PushError> {
        PushClient::new(&self.config.verify, self.config.debug)
    }
}
