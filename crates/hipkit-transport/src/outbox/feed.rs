//! The workers' supply of leased records: claims a batch at a time, ahead of need, in a task
//! of its own so deliveries never wait for a claim while records are still buffered.

use super::throttle::Throttle;
use hipkit_store::{Millis, OutboxRecord, OutboxStore, StoreError, now_millis};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Fewest records claimed at once: a claim is one statement on the single writer, so its
/// fixed cost is spread over a batch even with few workers.
const MIN_CLAIM: usize = 128;

type Claim = JoinHandle<Result<Vec<OutboxRecord>, StoreError>>;

/// Leased records waiting for a delivery slot, and the claim that refills them.
pub(super) struct Feed {
    store: Arc<dyn OutboxStore>,
    ready: VecDeque<OutboxRecord>,
    claim: Option<Claim>,
    /// How many records the running claim asked for.
    requested: usize,
    /// The last claim found fewer due records than it asked for: claim again only once the
    /// buffer is empty (and the caller has idled).
    drained: bool,
    low_water: usize,
    batch: usize,
    lease_ms: Millis,
    /// Failed claims: logged with backoff, and no claim before the backoff ends.
    failures: Throttle,
}

/// Backoff of failed claims: from a quarter second up to ten seconds.
fn claim_backoff() -> Throttle {
    Throttle::new(Duration::from_millis(250), Duration::from_secs(10))
}

impl Feed {
    /// A feed for `concurrency` workers, leasing each record for `lease_ms`.
    pub(super) fn new(store: Arc<dyn OutboxStore>, concurrency: usize, lease_ms: Millis) -> Self {
        Self {
            store,
            ready: VecDeque::new(),
            claim: None,
            requested: 0,
            drained: false,
            low_water: concurrency.max(MIN_CLAIM / 2),
            batch: (2 * concurrency).max(MIN_CLAIM),
            lease_ms,
            failures: claim_backoff(),
        }
    }

    /// Starts a claim in the background when the buffer runs low, none is running and no
    /// failed claim's backoff lasts.
    pub(super) fn refill(&mut self) {
        if self.claim.is_some()
            || self.drained
            || self.ready.len() >= self.low_water
            || !self.backoff().is_zero()
        {
            return;
        }
        let limit = self.batch.saturating_sub(self.ready.len()).max(1);
        let (store, lease) = (self.store.clone(), self.lease_ms);
        self.requested = limit;
        self.claim = Some(tokio::spawn(async move {
            store.claim(now_millis(), lease, limit).await
        }));
    }

    /// The next record to deliver, waiting for a running claim if the buffer is empty;
    /// `None` when nothing is due (the caller idles, then asks again). Cancel-safe.
    pub(super) async fn next(&mut self) -> Option<OutboxRecord> {
        loop {
            self.discard_stale();
            if let Some(record) = self.ready.pop_front() {
                return Some(record);
            }
            if self.claim.is_none() {
                if self.drained {
                    self.drained = false;
                    return None;
                }
                self.refill();
            }
            // No claim running: the last one failed and its backoff lasts.
            let claim = self.claim.as_mut()?;
            let result = claim.await;
            self.claim = None;
            self.absorb(result);
        }
    }

    /// How long claims are held back after failures (zero when the last one worked).
    pub(super) fn backoff(&self) -> Duration {
        self.failures.wait(Instant::now())
    }

    /// Puts a record back at the front (its delivery could not start).
    pub(super) fn push_front(&mut self, record: OutboxRecord) {
        self.ready.push_front(record);
    }

    /// Everything leased and not started, after any running claim finishes (to release).
    pub(super) async fn take_all(&mut self) -> Vec<OutboxRecord> {
        if let Some(claim) = self.claim.take() {
            self.absorb(claim.await);
        }
        self.drained = false;
        self.ready.drain(..).collect()
    }

    fn absorb(
        &mut self,
        result: Result<Result<Vec<OutboxRecord>, StoreError>, tokio::task::JoinError>,
    ) {
        match result {
            Ok(Ok(claimed)) => {
                self.failures.succeeded();
                self.drained = claimed.len() < self.requested;
                self.ready.extend(claimed);
            }
            Ok(Err(e)) => self.failed(&e),
            Err(e) => self.failed(&e),
        }
    }

    /// A claim failed: back off, and log unless a recent failure was logged.
    fn failed(&mut self, error: &dyn std::error::Error) {
        self.drained = true;
        if let Some(suppressed) = self.failures.failed(Instant::now()) {
            let retry_in_ms = self.backoff().as_millis() as u64;
            tracing::warn!(
                error = %error,
                suppressed,
                retry_in_ms,
                "claiming from the outbox failed"
            );
        }
    }

    /// A record is only started while half its lease remains (the heartbeat, every third of
    /// the lease, renews it before it runs out); one that waited longer is left to be
    /// claimed again.
    fn discard_stale(&mut self) {
        let now = now_millis();
        let half = self.lease_ms / 2;
        while self
            .ready
            .front()
            .is_some_and(|r| r.lease_until.is_none_or(|until| until - half <= now))
        {
            self.ready.pop_front();
        }
    }
}
