//! Delivery counters and the latency histogram, registered into a caller-owned registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What the workers count.
#[derive(Debug)]
pub struct DeliveryMetrics {
    /// Messages delivered.
    pub delivered: Counter,
    /// Messages that went dead.
    pub dead: Counter,
    /// Attempts that failed transiently and were scheduled again.
    pub retries: Counter,
    /// 429 answers.
    pub rate_limited: Counter,
    /// Seconds from acceptance to delivery.
    pub latency: Histogram,
}

impl Default for DeliveryMetrics {
    fn default() -> Self {
        Self {
            delivered: Counter::default(),
            dead: Counter::default(),
            retries: Counter::default(),
            rate_limited: Counter::default(),
            latency: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
        }
    }
}

impl DeliveryMetrics {
    /// Adds the metrics to `registry` under `hipkit_delivery_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "hipkit_delivery_delivered",
            "Messages delivered by the outbox workers",
            self.delivered.clone(),
        );
        registry.register(
            "hipkit_delivery_dead",
            "Messages given up on (dead letters)",
            self.dead.clone(),
        );
        registry.register(
            "hipkit_delivery_retries",
            "Failed attempts scheduled for another try",
            self.retries.clone(),
        );
        registry.register(
            "hipkit_delivery_rate_limited",
            "Attempts answered with 429",
            self.rate_limited.clone(),
        );
        registry.register(
            "hipkit_delivery_latency_seconds",
            "Time from acceptance to delivery",
            self.latency.clone(),
        );
    }
}
