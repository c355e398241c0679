//! Building the runtime [`Reporters`] from checked configuration and what the host provides.

use super::{HipChatRoute, ParcelPost, Reporters};
use crate::History;
use crate::config::CheckedReporters;
use crate::couriers::ReporterCouriers;
use crate::hipchat::{HipChatConfig, HipChatReporter};
use crate::http::{HttpReporter, PushError};
use hipkit_transport::outbox::Outbox;
use hipkit_transport::{HttpTransport, Transport};
use std::sync::Arc;

/// What building the reporters needs from the host (`serve`, `hipkit report`).
pub struct ReporterDeps {
    /// Where HipChat messages go (the outbox under `serve`); an error when `[hipchat]` has
    /// no usable client, which only reporters with their own `auth_token` can do without.
    pub transport: Result<Arc<dyn Transport>, hipchat::Error>,
    /// `[hipchat]`: the server messages go to, and the base of reporters that set their own
    /// `auth_token`, `endpoint` or `verify`.
    pub hipchat: hipchat::ClientConfig,
    /// Previous builds for `change` and `problem`.
    pub history: History,
    /// Where parcels (HTTP pushes, messages of reporters with their own client) go: `Some`
    /// queues them durably in this outbox (`serve`; its workers must then deliver through
    /// [`Reporters::couriers`]); `None` sends each once when asked (`hipkit report`
    /// retries itself).
    pub queue: Option<Outbox>,
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

/// A reporter's own HipChat client, and the server it talks to.
type OwnClient = (Arc<dyn Transport>, String);

/// The reporter's own HipChat client and its server, when it has one.
fn own_transport(
    c: &HipChatConfig,
    base: &hipchat::ClientConfig,
) -> Result<Option<OwnClient>, hipchat::Error> {
    if !own_client(c) {
        return Ok(None);
    }
    let mut cfg = base.clone();
    cfg.token = c.auth_token.clone().or(cfg.token);
    cfg.endpoint = c.endpoint.clone().or(cfg.endpoint);
    cfg.accept_invalid_certs |= !c.verify;
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(cfg.build()?));
    Ok(Some((transport, cfg.endpoint_or_default().to_owned())))
}

impl CheckedReporters {
    /// The runtime reporters. HTTP pushes, and the messages of a HipChat reporter with its
    /// own `auth_token`, `endpoint` or `verify`, are parcels for `deps.queue` (or sent at
    /// once), delivered by [`Reporters::couriers`] with the reporter's live configuration;
    /// the other HipChat reporters share `deps.transport`.
    pub fn build(&self, deps: &ReporterDeps) -> Result<Reporters, SetupError> {
        let fail = |reporter: &str, reason: SetupReason| SetupError {
            reporter: reporter.to_owned(),
            reason,
        };
        let mut couriers = ReporterCouriers::default();
        let mut own_endpoints = Vec::with_capacity(self.hipchat.len());
        for c in &self.hipchat {
            let own = own_transport(c, &deps.hipchat).map_err(|e| fail(&c.name, e.into()))?;
            own_endpoints.push(own.as_ref().map(|(_, endpoint)| endpoint.clone()));
            couriers.add_hipchat(&c.name, own.map(|(transport, _)| transport));
        }
        let mut http = Vec::with_capacity(self.http.len());
        for c in &self.http {
            let reporter = HttpReporter::new(c.clone());
            let client = reporter.client().map_err(|e| fail(&c.name, e.into()))?;
            couriers.add_http(c, client);
            http.push(reporter);
        }
        let couriers = Arc::new(couriers);
        let post = match &deps.queue {
            Some(outbox) => ParcelPost::Queue(outbox.clone()),
            None => ParcelPost::Direct(couriers.clone()),
        };
        let mut reporters = Reporters::new(deps.history.clone()).with_couriers(couriers);
        for (c, own_endpoint) in self.hipchat.iter().zip(own_endpoints) {
            let (route, endpoint) = match own_endpoint {
                Some(endpoint) => (HipChatRoute::Own(post.clone()), endpoint),
                None => {
                    let shared = deps.transport.as_ref().map_err(|e| {
                        let why = format!("no HipChat client for this reporter: {e}");
                        fail(&c.name, hipchat::Error::Config(why.into()).into())
                    })?;
                    let endpoint = deps.hipchat.endpoint_or_default().to_owned();
                    (HipChatRoute::Shared(shared.clone()), endpoint)
                }
            };
            reporters = reporters.with_hipchat(HipChatReporter::new(c.clone()), route, &endpoint);
        }
        for reporter in http {
            reporters = reporters.with_http(reporter, post.clone());
        }
        Ok(reporters)
    }
}
