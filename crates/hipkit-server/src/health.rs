//! What capabilities tell the server about their health and their metrics.

use async_trait::async_trait;

/// A dependency `/healthz` checks (the store, say); an error makes the service unhealthy.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the dependency can serve; otherwise why not.
    async fn check(&self) -> Result<(), String>;
}

/// Refreshes gauges that are read from elsewhere (a store's counts) just before a scrape.
#[async_trait]
pub trait ScrapeHook: Send + Sync {
    /// Updates the hook's metrics; an error answers the scrape with 503.
    async fn refresh(&self) -> Result<(), String>;
}
