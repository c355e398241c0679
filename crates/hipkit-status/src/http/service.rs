//! Sending pushes: one place that classifies answers (2xx delivered; 5xx, 429 and network
//! errors retried; other codes refused), and the [`HttpDelivery`] seam through which a
//! durable outbox destination can take over later.

use super::config::{HttpConfig, Verify};
use super::request::PushRequest;
use async_trait::async_trait;
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{Delivery, DeliveryState, Retry};
use std::sync::Arc;
use std::time::Duration;

/// How long one push may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A push that was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The receiver answered with a non-2xx status (Buildbot's log line).
    #[error("{status}: unable to upload status: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// No answer (connection, TLS, timeout).
    #[error("cannot reach the receiver: {0}")]
    Network(#[source] reqwest::Error),
    /// The client could not be built (a bad CA bundle).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl PushError {
    /// Whether trying again may help: network errors, 5xx and 429.
    pub fn retry(&self) -> Retry {
        match self {
            Self::Network(_) => Retry::Backoff,
            Self::Status { status, .. } if *status >= 500 || *status == 429 => Retry::Backoff,
            Self::Status { .. } | Self::Setup(_) => Retry::Never,
        }
    }
}

/// Where a push goes to be delivered: sent now, or queued. The outbox can implement this
/// to make pushes durable; today's implementations are [`DirectHttp`] and
/// [`BackgroundRetries`].
#[async_trait]
pub trait HttpDelivery: Send + Sync {
    /// Delivers (or queues) one push.
    async fn deliver(&self, request: &PushRequest) -> Result<Delivery, PushError>;
}

/// One attempt per call, over its own client (the reporter's `verify`, `debug`).
pub struct DirectHttp {
    client: reqwest::Client,
    debug: bool,
}

impl DirectHttp {
    /// A client for `config`.
    pub fn new(config: &HttpConfig) -> Result<Self, PushError> {
        let mut builder = reqwest::Client::builder().timeout(TIMEOUT);
        match &config.verify {
            Verify::Enabled(verify) => builder = builder.tls_danger_accept_invalid_certs(!verify),
            Verify::CaBundle(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| PushError::Setup(format!("{}: {e}", path.display())))?;
                let cert = reqwest::Certificate::from_pem(&pem)
                    .map_err(|e| PushError::Setup(format!("{}: {e}", path.display())))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| PushError::Setup(e.to_string()))?;
        Ok(Self {
            client,
            debug: config.debug,
        })
    }
}

#[async_trait]
impl HttpDelivery for DirectHttp {
    async fn deliver(&self, request: &PushRequest) -> Result<Delivery, PushError> {
        if self.debug {
            tracing::info!(request = %request.describe(), "build status push");
        }
        let mut req = self.client.post(&request.url).body(request.body.clone());
        for (name, value, _) in &request.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let resp = req.send().await.map_err(PushError::Network)?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if self.debug {
            tracing::info!(status, body = %body, "build status push answered");
        }
        if status / 100 == 2 {
            Ok(Delivery::delivered())
        } else {
            Err(PushError::Status {
                status,
                body: body.chars().take(500).collect(),
            })
        }
    }
}

/// Answers at once and retries in a background task with a [`RetryPolicy`]: not durable
/// (a restart loses pushes still retrying) until the outbox carries HTTP destinations.
pub struct BackgroundRetries {
    inner: Arc<dyn HttpDelivery>,
    policy: RetryPolicy,
}

impl BackgroundRetries {
    /// Retries `inner`'s failures under `policy`.
    pub fn new(inner: Arc<dyn HttpDelivery>, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

/// Delivers with retries under `policy` (the attempt count includes the first).
pub async fn deliver_with_retries(
    inner: &dyn HttpDelivery,
    request: &PushRequest,
    policy: &RetryPolicy,
) -> Result<Delivery, PushError> {
    let mut attempt = 1;
    loop {
        match inner.deliver(request).await {
            Ok(d) => return Ok(d),
            Err(e) if e.retry() == Retry::Never || attempt >= policy.max_attempts => {
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(url = %request.url, attempt, error = %e, "build status push failed; retrying");
                tokio::time::sleep(policy.delay(attempt)).await;
                attempt += 1;
            }
        }
    }
}

#[async_trait]
impl HttpDelivery for BackgroundRetries {
    async fn deliver(&self, request: &PushRequest) -> Result<Delivery, PushError> {
        let (inner, policy, request) = (self.inner.clone(), self.policy, request.clone());
        let mut delivery = Delivery::delivered();
        delivery.state = DeliveryState::Queued;
        tokio::spawn(async move {
            if let Err(e) = deliver_with_retries(inner.as_ref(), &request, &policy).await {
                tracing::error!(url = %request.url, error = %e, "build status push given up");
            }
        });
        Ok(delivery)
    }
}
