//! HttpStatusPush: the build dict POSTed as JSON to `server_url` (exactly as received, or
//! a `payload` template's output), with headers, basic or bearer auth, `verify` and `debug`.

mod config;
mod request;
mod service;

#[cfg(test)]
mod tests;

pub use config::{Auth, HttpConfig, Verify};
pub use request::{PayloadError, PushRequest};
pub use service::{BackgroundRetries, DirectHttp, HttpDelivery, PushError, deliver_with_retries};

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
        PushRequest::new(&self.config, build, event)
    }
}
