//! Outbox workers: lease due records, deliver through the inner transport, record outcomes.

use super::attempt::{Deliverer, to_millis};
use super::feed::Feed;
use super::throttle::Throttle;
use super::{DeliveryMetrics, RateGate, RetryPolicy, SharedLimits};
use crate::{Couriers, NoCouriers, Transport};
use hipkit_store::{Claim, OutboxRecord, OutboxStore, Outcome, StoreError, now_millis};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How the workers run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerConfig {
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long a claimed record is leased. The workers renew the leases of deliveries in
    /// progress every third of it (their heartbeat), so it may be shorter than a request:
    /// it is how long a dead process's messages wait before another takes them over.
    pub lease: Duration,
    /// Retry limits and backoff.
    pub retry: RetryPolicy,
    /// Longest sleep when nothing is due (new messages wake the workers at once).
    pub idle_poll: Duration,
    /// How long shutdown waits for deliveries in flight before releasing them.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            lease: Duration::from_secs(6),
            retry: RetryPolicy::default(),
            idle_poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Longest an outcome waits for others to share its commit.
const OUTCOME_LINGER: Duration = Duration::from_millis(2);

/// Most outcomes committed in one transaction.
const OUTCOME_BATCH: usize = 512;

type PendingOutcome = (Outcome, oneshot::Sender<Result<(), Arc<StoreError>>>);

/// Why an outcome was not recorded.
#[derive(Debug, thiserror::Error)]
enum CommitError {
    /// The outcome writer is gone (shutting down).
    #[error("the outcome writer has stopped")]
    WriterStopped,
    /// The store failed the batch's transaction (shared by every outcome of the batch).
    #[error("cannot record the outcome: {0}")]
    Store(#[source] Arc<StoreError>),
}

struct Context {
    store: Arc<dyn OutboxStore>,
    outcomes: mpsc::Sender<PendingOutcome>,
    config: WorkerConfig,
    deliverer: Deliverer,
    /// Records being delivered, with the claim each is leased under (renewed by the
    /// heartbeat, released at shutdown).
    leased: Mutex<HashMap<String, Claim>>,
    /// Failures to record outcomes or release leases, logged with backoff.
    failures: Mutex<Throttle>,
    /// Wakes the delivery loop: a settled record of a lane lets the lane's next be claimed.
    wake: Arc<Notify>,
}

impl Context {
    /// Logs a store failure unless a recent one was logged (then it is only counted).
    fn store_failed(&self, error: &dyn std::error::Error, what: &'static str) {
        let logged = lock(&self.failures).failed(Instant::now());
        if let Some(suppressed) = logged {
            tracing::warn!(error = %error, suppressed, "{what}");
        }
    }
}

/// The delivery loop for one outbox.
pub struct Workers {
    ctx: Context,
    wake: Arc<Notify>,
    writer: mpsc::Receiver<PendingOutcome>,
}

impl Workers {
    pub(super) fn new(
        store: Arc<dyn OutboxStore>,
        inner: Arc<dyn Transport>,
        config: WorkerConfig,
        metrics: Arc<DeliveryMetrics>,
        wake: Arc<Notify>,
    ) -> Self {
        let (outcomes, writer) = mpsc::channel(OUTCOME_BATCH * 2);
        Self {
            writer,
            ctx: Context {
                outcomes,
                store,
                config,
                deliverer: Deliverer {
                    inner,
                    couriers: Arc::new(NoCouriers),
                    gate: RateGate::new(),
                    policy: config.retry,
                    metrics,
                    limits: None,
                },
                leased: Mutex::new(HashMap::new()),
                failures: Mutex::new(Throttle::default()),
                wake: wake.clone(),
            },
            wake,
        }
    }

    /// Delivers parcels through `couriers` (the live configuration's); without them every
    /// parcel is a dead letter. Set before [`Workers::run`].
    pub fn with_couriers(mut self, couriers: Arc<dyn Couriers>) -> Self {
        self.ctx.deliverer.couriers = couriers;
        self
    }

    /// Keeps HipChat's limits through `limits` (shared with every replica of the store)
    /// before each message. Set before [`Workers::run`].
    pub fn with_limits(mut self, limits: SharedLimits) -> Self {
        self.ctx.deliverer.limits = Some(limits);
        self
    }

    /// Delivers until `shutdown` turns true, then finishes or releases what is in flight
    /// and compacts the store.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let ctx = Arc::new(self.ctx);
        let concurrency = ctx.config.concurrency.max(1);
        let slots = Slots::new(concurrency);
        let writer = tokio::spawn(outcome_writer(
            ctx.store.clone(),
            self.writer,
            concurrency,
            (slots.unsettled.clone(), slots.unsettled.available_permits()),
        ));
        let lease = to_millis(ctx.config.lease);
        // In a set of its own: aborted with the loop if the loop itself is dropped.
        let mut heartbeat_task = JoinSet::new();
        heartbeat_task.spawn(heartbeat(ctx.clone()));
        let mut tasks = JoinSet::new();
        let mut feed = Feed::new(ctx.store.clone(), concurrency, lease);
        while !*shutdown.borrow() {
            while tasks.try_join_next().is_some() {}
            if let Some(wait) = ctx.deliverer.gate.remaining() {
                // Rate limited: hand back what waits here so no lease runs out meanwhile.
                release_all(&ctx, feed.take_all().await.into_iter()).await;
                if wait_or_stop(wait, None, &mut shutdown).await {
                    break;
                }
                continue;
            }
            feed.refill();
            let next = tokio::select! {
                r = feed.next() => r,
                _ = shutdown.changed() => break,
            };
            let Some(record) = next else {
                let idle = idle_wait(&ctx).await.max(feed.backoff());
                if wait_or_stop(idle, Some(&self.wake), &mut shutdown).await {
                    break;
                }
                continue;
            };
            let slot = tokio::select! {
                s = slots.acquire() => s,
                _ = shutdown.changed() => None,
            };
            let Some(slot) = slot else {
                feed.push_front(record);
                break;
            };
            lock(&ctx.leased).insert(record.id.clone(), record.claim());
            tasks.spawn(deliver(ctx.clone(), record, slot));
        }
        release_all(&ctx, feed.take_all().await.into_iter()).await;
        finish(&ctx, tasks).await;
        heartbeat_task.shutdown().await;
        let store = ctx.store.clone();
        // The writer ends once the last sender (the context) is gone.
        drop(ctx);
        let _ = writer.await;
        // Leave no large journal behind (a burst's WAL would otherwise outlive the process).
        if let Err(e) = store.compact().await {
            tracing::warn!(error = %e, "compacting the store at shutdown failed");
        }
    }
}

/// The workers' heartbeat: every third of the lease, renews the leases of the deliveries in
/// progress (the records in `leased`), so a short lease never runs out under a slow
/// request while a dead process's leases do, soon. A claim another process took over is
/// not renewed (its delivery's outcome will not count either). Runs until aborted.
async fn heartbeat(ctx: Arc<Context>) {
    let lease = ctx.config.lease;
    let mut beat = tokio::time::interval((lease / 3).max(Duration::from_millis(10)));
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        beat.tick().await;
        let held: Vec<(String, Claim)> = lock(&ctx.leased)
            .iter()
            .map(|(id, claim)| (id.clone(), *claim))
            .collect();
        if held.is_empty() {
            continue;
        }
        let until = now_millis() + to_millis(lease);
        match ctx.store.renew(&held, until).await {
            Ok(renewed) => tracing::trace!(held = held.len(), renewed, "leases renewed"),
            Err(e) => ctx.store_failed(
                &e,
                "renewing the leases of deliveries in progress failed; they may be taken over",
            ),
        }
    }
}

/// Returns records to the queue untouched, in one transaction.
async fn release_all(ctx: &Context, records: impl Iterator<Item = OutboxRecord>) {
    release_claims(ctx, records.map(|r| (r.claim(), r.id))).await;
}

/// Returns records (by id and claim) to the queue untouched, in one transaction.
async fn release_claims(ctx: &Context, claims: impl Iterator<Item = (Claim, String)>) {
    let at = now_millis();
    let outcomes: Vec<Outcome> = claims
        .map(|(claim, id)| Outcome::Release { id, claim, at })
        .collect();
    if outcomes.is_empty() {
        return;
    }
    if let Err(e) = ctx.store.record(&outcomes).await {
        ctx.store_failed(&e, "releasing leases failed; they expire on their own");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sleeps up to `wait` (or until woken); returns true when shutdown was requested.
async fn wait_or_stop(
    wait: Duration,
    wake: Option<&Notify>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let woken = async {
        match wake {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = woken => false,
        _ = shutdown.changed() => true,
    }
}

/// How long to sleep when nothing is due: until the next due record, at most `idle_poll`.
async fn idle_wait(ctx: &Context) -> Duration {
    let poll = ctx.config.idle_poll;
    match ctx.store.next_due().await {
        Ok(Some(due)) => {
            let ms = (due - now_millis()).clamp(1, to_millis(poll));
            Duration::from_millis(ms as u64)
        }
        _ => poll,
    }
}

/// Waits for deliveries in flight (up to the grace period), then releases what remains.
async fn finish(ctx: &Arc<Context>, mut tasks: JoinSet<()>) {
    let grace = tokio::time::sleep(ctx.config.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = &mut grace => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
    }
    let leftover: Vec<(Claim, String)> = lock(&ctx.leased)
        .drain()
        .map(|(id, claim)| (claim, id))
        .collect();
    release_claims(ctx, leftover.into_iter()).await;
}

/// Limits on deliveries: requests in flight, and deliveries whose outcome is not yet committed.
struct Slots {
    sending: Arc<Semaphore>,
    unsettled: Arc<Semaphore>,
}

/// One delivery's hold on [`Slots`].
struct Slot {
    sending: OwnedSemaphorePermit,
    unsettled: OwnedSemaphorePermit,
}

impl Slots {
    /// `concurrency` requests in flight. A delivery frees its request slot as soon as HipChat
    /// answers, so the next request need not wait for the outcome's commit; outcomes not yet
    /// committed are bounded too (another `concurrency`), since those are what a crash can
    /// deliver twice.
    fn new(concurrency: usize) -> Self {
        Self {
            sending: Arc::new(Semaphore::new(concurrency)),
            unsettled: Arc::new(Semaphore::new(2 * concurrency)),
        }
    }

    async fn acquire(&self) -> Option<Slot> {
        let unsettled = self.unsettled.clone().acquire_owned().await.ok()?;
        let sending = self.sending.clone().acquire_owned().await.ok()?;
        Some(Slot { sending, unsettled })
    }
}

async fn deliver(ctx: Arc<Context>, record: OutboxRecord, slot: Slot) {
    let id = record.id.clone();
    let laned = record.lane.is_some();
    let outcome = ctx.deliverer.attempt(record).await;
    drop(slot.sending);
    match commit(&ctx, outcome).await {
        Ok(()) => {
            lock(&ctx.failures).succeeded();
            if laned {
                ctx.wake.notify_one();
            }
        }
        Err(e) => ctx.store_failed(
            &e,
            "recording a delivery outcome failed; the lease will expire and it is retried",
        ),
    }
    lock(&ctx.leased).remove(&id);
    drop(slot.unsettled);
}

/// Hands an outcome to the outcome writer and waits for its commit.
async fn commit(ctx: &Context, outcome: Outcome) -> Result<(), CommitError> {
    let (reply, done) = oneshot::channel();
    ctx.outcomes
        .send((outcome, reply))
        .await
        .map_err(|_| CommitError::WriterStopped)?;
    done.await
        .map_err(|_| CommitError::WriterStopped)?
        .map_err(CommitError::Store)
}

/// Commits outcomes in batches, one transaction each: a batch is what queued up while the
/// previous commit ran, topped up for at most [`OUTCOME_LINGER`] or until `flush_at` are
/// waiting (each statement wakes SQLite's thread, which costs more than the rows it writes).
/// It does not linger once every delivery holding one of the `unsettled` slots (the
/// semaphore and its size) has reported: no more can come, and a lane's next message waits
/// for this commit.
async fn outcome_writer(
    store: Arc<dyn OutboxStore>,
    mut rx: mpsc::Receiver<PendingOutcome>,
    flush_at: usize,
    (unsettled, slots): (Arc<Semaphore>, usize),
) {
    let flush_at = flush_at.clamp(1, OUTCOME_BATCH);
    let outstanding = || slots.saturating_sub(unsettled.available_permits());
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + OUTCOME_LINGER;
        while batch.len() < flush_at && batch.len() < outstanding() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) | Err(_) => break,
            }
        }
        while batch.len() < OUTCOME_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let outcomes: Vec<Outcome> = batch.iter().map(|(o, _)| o.clone()).collect();
        let result = store.record(&outcomes).await.map_err(Arc::new);
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
    }
}
