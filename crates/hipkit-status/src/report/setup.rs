//! Building the runtime [`Reporters`] from checked configuration and what the host provides.

use super::Reporters;
use crate::History;
use crate::config::CheckedReporters;
use crate::hipchat::{HipChatConfig, HipChatReporter};
use crate::http::{BackgroundRetries, DirectHttp, HttpDelivery, HttpReporter, PushError};
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{HttpTransport, Transport};
use std::sync::Arc;

/// What building the reporters needs from the host (`serve`, `hipkit report`).
pub struct ReporterDeps {
    /// Where HipChat messages go (the outbox under `serve`); `None` when `[hipchat]` has
    /// no usable client, which only reporters with their own `auth_token` can do without.
    pub transport: Result<Arc<dyn Transport>, hipchat::Error>,
    /// `[hipchat]`: the server messages go to, and the base of reporters that set their own
    /// `auth_token`, `endpoint` or `verify`.
    pub hipchat: hipchat::ClientConfig,
    /// Previous builds for `change` and `problem`.
    pub history: History,
    /// HTTP pushes: `Some` answers at once and retries in the background under the policy
    /// (`serve`: not durable yet); `None` sends each push once when asked (`hipkit report`
    /// retries itself).
    pub http_retry: Option<RetryPolicy>,
}

/// A reporter could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("reporter {reporter}: {reason}")]
pub struct SetupError {
    /// The reporter's name.
    pub reporter: String,
    /// Why its client could not be built.
    #[source]
    pub reason: SetupReason,
}

/// Why a reporter's client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupReason {
    /// Its HipChat client.
    #[error(transparent)]
    HipChat(#[from] hipchat::Error),
    /// Its HTTP client (a bad CA bundle).
    #[error(transparent)]
    Http(#[from] PushError),
}

/// Whether the reporter talks to HipChat differently from `[hipchat]`.
fn own_client(c: &HipChatConfig) -> bool {
    c.auth_token.is_some() || c.endpoint.is_some() || !c.verify
}

impl CheckedReporters {
    /// The runtime reporters. A HipChat reporter with its own `auth_token`, `endpoint` or
    /// `verify` sends directly with its own client (not through the outbox: the outbox
    /// carries no per-message credentials); the others share `deps.transport`.
    pub fn build(&self, deps: &ReporterDeps) -> Result<Reporters, SetupError> {
        let mut reporters = Reporters::new(deps.history.clone());
        for c in &self.hipchat {
            let fail = |e: hipchat::Error| SetupError {
                reporter: c.name.clone(),
                reason: e.into(),
            };
            let (transport, endpoint) = if own_client(c) {
                let mut cfg = deps.hipchat.clone();
                cfg.token = c.auth_token.clone().or(cfg.token);
                cfg.endpoint = c.endpoint.clone().or(cfg.endpoint);
                cfg.accept_invalid_certs |= !c.verify;
                tracing::warn!(reporter = %c.name, "this HipChat reporter has its own auth_token, endpoint or verify: it sends directly, without the outbox's retries");
                let client = cfg.build().map_err(fail)?;
                let t: Arc<dyn Transport> = Arc::new(HttpTransport::new(client));
                (t, cfg.endpoint_or_default().to_owned())
            } else {
                let shared = deps.transport.as_ref().map_err(|e| {
                    fail(hipchat::Error::Config(format!(
                        "no HipChat client for this reporter: {e}"
                    )))
                })?;
                (
                    shared.clone(),
                    deps.hipchat.endpoint_or_default().to_owned(),
                )
            };
            reporters =
                reporters.with_hipchat(HipChatReporter::new(c.clone()), transport, &endpoint);
        }
        for c in &self.http {
            let direct = DirectHttp::new(c).map_err(|e| SetupError {
                reporter: c.name.clone(),
                reason: e.into(),
            })?;
            let delivery: Arc<dyn HttpDelivery> = match deps.http_retry {
                Some(policy) => Arc::new(BackgroundRetries::new(Arc::new(direct), policy)),
                None => Arc::new(direct),
            };
            reporters = reporters.with_http(HttpReporter::new(c.clone()), delivery);
        }
        Ok(reporters)
    }
}
