//! Running the reporters for one build event: each reporter's generator decides (with the
//! previous build when its modes need it), its formatter renders, and the result is a list
//! of [`Outgoing`] reports ready to send, describe (`--dry-run`) or queue.

mod outgoing;
mod retry;
mod setup;

pub use outgoing::{HipChatRoute, Outgoing, OutgoingKind, ParcelPost};
pub use retry::send_with_retries;
pub use setup::{ReporterDeps, SetupError, SetupReason};

use crate::couriers::ReporterCouriers;
use crate::generator::Generator;
use crate::hipchat::{FormatError, HipChatReporter};
use crate::http::{HttpReporter, PayloadError};
use crate::{Build, Event, History};
use hipkit_store::StoreError;
use std::sync::Arc;

/// One reporter could not prepare its report (Buildbot logs this and goes on).
#[derive(Debug, thiserror::Error)]
#[error("reporter {reporter}: {kind}")]
pub struct ReportError {
    /// The reporter's name.
    pub reporter: String,
    /// What failed.
    #[source]
    pub kind: ReportErrorKind,
}

/// Why a reporter could not prepare its report.
#[derive(Debug, thiserror::Error)]
pub enum ReportErrorKind {
    /// A template or hook failed: a configuration problem.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The `payload` template failed: a configuration problem.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The previous build could not be read or recorded.
    #[error("previous build: {0}")]
    History(#[from] StoreError),
}

/// What the reporters made of one build event.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The reports to send, in reporter order (for HipChat: user first, then room).
    pub outgoing: Vec<Outgoing>,
    /// Reporters that failed; the others' reports are still in `outgoing`.
    pub failures: Vec<ReportError>,
}

/// A HipChat reporter and where its messages go.
#[derive(Clone)]
struct HipChatSink {
    reporter: HipChatReporter,
    route: HipChatRoute,
    endpoint: Arc<str>,
}

/// An HTTP reporter and where its pushes go.
#[derive(Clone)]
struct HttpSink {
    reporter: HttpReporter,
    post: ParcelPost,
}

/// The configured reporters, ready to run.
#[derive(Clone, Default)]
pub struct Reporters {
    hipchat: Vec<HipChatSink>,
    http: Vec<HttpSink>,
    history: History,
    couriers: Arc<ReporterCouriers>,
}

impl std::fmt::Debug for Reporters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporters")
            .field("hipchat", &self.hipchat.len())
            .field("http", &self.http.len())
            .field("history", &self.history)
            .finish()
    }
}

impl Reporters {
    /// No reporters yet; previous builds from `history`.
    pub fn new(history: History) -> Self {
        Self {
            history,
            ..Self::default()
        }
    }

    /// Adds a HipChat reporter whose messages leave by `route` for the server at
    /// `endpoint` (used to describe requests, never to send).
    pub fn with_hipchat(
        mut self,
        reporter: HipChatReporter,
        route: HipChatRoute,
        endpoint: &str,
    ) -> Self {
        self.hipchat.push(HipChatSink {
            reporter,
            route,
            endpoint: endpoint.trim_end_matches('/').into(),
        });
        self
    }

    /// Adds an HTTP reporter whose pushes go to `post`.
    pub fn with_http(mut self, reporter: HttpReporter, post: ParcelPost) -> Self {
        self.http.push(HttpSink { reporter, post });
        self
    }

    /// Delivers parcels with `couriers` (the reporters' own clients, by name).
    pub(crate) fn with_couriers(mut self, couriers: Arc<ReporterCouriers>) -> Self {
        self.couriers = couriers;
        self
    }

    /// The reporters as couriers: what the outbox workers deliver parcels through.
    pub fn couriers(&self) -> Arc<ReporterCouriers> {
        self.couriers.clone()
    }

    /// How many reporters there are.
    pub fn len(&self) -> usize {
        self.hipchat.len() + self.http.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any reporter's modes need the previous build.
    pub fn need_history(&self) -> bool {
        let hipchat = self.hipchat.iter().map(|s| &s.reporter.config().generator);
        let http = self.http.iter().map(|s| &s.reporter.config().generator);
        hipchat.chain(http).any(|g| g.modes.needs_previous())
    }

    /// Whether reporter `name`'s generator reports `build` at `event`.
    async fn decide(
        &self,
        name: &str,
        generator: &Generator,
        build: &Build,
        event: Event,
    ) -> Result<bool, ReportErrorKind> {
        let prev = if generator.needs_previous(event) {
            self.history.previous(name, build, event).await?
        } else {
            None
        };
        let wanted = generator.wants(build, event, prev);
        if !wanted {
            tracing::debug!(reporter = name, builder = build.builder_name(), %event, "not reported (mode or filters)");
        }
        Ok(wanted)
    }

    /// Runs every reporter's generator and formatter for `build` at `event`; sends nothing
    /// (but records the build as its builder's last, for reporters that compare).
    pub async fn prepare(&self, build: &Build, event: Event) -> Prepared {
        let mut prepared = Prepared::default();
        for sink in &self.hipchat {
            let config = sink.reporter.config();
            let result = async {
                if !self
                    .decide(&config.name, &config.generator, build, event)
                    .await?
                {
                    return Ok(Vec::new());
                }
                Ok(sink.reporter.messages(build, event)?)
            }
            .await;
            match result {
                Ok(messages) => prepared
                    .outgoing
                    .extend(messages.into_iter().map(|message| {
                        Outgoing::hipchat(&config.name, message, sink.route.clone(), &sink.endpoint)
                    })),
                Err(kind) => prepared.failures.push(ReportError {
                    reporter: config.name.clone(),
                    kind,
                }),
            }
        }
        for sink in &self.http {
            let config = sink.reporter.config();
            let result = async {
                if !self
                    .decide(&config.name, &config.generator, build, event)
                    .await?
                {
                    return Ok(None);
                }
                Ok(Some(sink.reporter.request(build, event)?))
            }
            .await;
            match result {
                Ok(request) => prepared
                    .outgoing
                    .extend(request.map(|r| Outgoing::http(&config.name, r, sink.post.clone()))),
                Err(kind) => prepared.failures.push(ReportError {
                    reporter: config.name.clone(),
                    kind,
                }),
            }
        }
        prepared
    }
}
