//! Outbox workers: lease due records, deliver through the inner transport, record outcomes.

use super::{DeliveryMetrics, RateGate, RetryPolicy};
use crate::{Message, Retry, Transport};
use hipkit_store::{Millis, OutboxRecord, Store, StoreError, now_millis};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

/// How the workers run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerConfig {
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long a claimed record is leased; must exceed the inner transport's timeout.
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
            lease: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            idle_poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

struct Context {
    store: Arc<dyn Store>,
    inner: Arc<dyn Transport>,
    config: WorkerConfig,
    metrics: Arc<DeliveryMetrics>,
    gate: RateGate,
    leased: Mutex<HashSet<String>>,
}

/// The delivery loop for one outbox.
pub struct Workers {
    ctx: Arc<Context>,
    wake: Arc<Notify>,
}

fn to_millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn system_time(ms: Millis) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

impl Workers {
    pub(super) fn new(
        store: Arc<dyn Store>,
        inner: Arc<dyn Transport>,
        config: WorkerConfig,
        metrics: Arc<DeliveryMetrics>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            ctx: Arc::new(Context {
                store,
                inner,
                config,
                metrics,
                gate: RateGate::new(),
                leased: Mutex::new(HashSet::new()),
            }),
            wake,
        }
    }

    /// Delivers until `shutdown` turns true, then finishes or releases what is in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let ctx = self.ctx;
        let permits = Arc::new(Semaphore::new(ctx.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        while !*shutdown.borrow() {
            while tasks.try_join_next().is_some() {}
            if let Some(wait) = ctx.gate.remaining() {
                if wait_or_stop(wait, None, &mut shutdown).await {
                    break;
                }
                continue;
            }
            let first = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => break,
            };
            let free = permits.available_permits() + 1;
            let claimed = match ctx
                .store
                .claim(now_millis(), to_millis(ctx.config.lease), free)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming from the outbox failed");
                    drop(first);
                    if wait_or_stop(Duration::from_secs(1), None, &mut shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            if claimed.is_empty() {
                drop(first);
                let idle = idle_wait(&ctx).await;
                if wait_or_stop(idle, Some(&self.wake), &mut shutdown).await {
                    break;
                }
                continue;
            }
            let mut first = Some(first);
            for record in claimed {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match permits.clone().try_acquire_owned() {
                        Ok(p) => p,
                        Err(_) => {
                            release(&ctx, &record.id).await;
                            continue;
                        }
                    },
                };
                lock(&ctx.leased).insert(record.id.clone());
                tasks.spawn(deliver(ctx.clone(), record, permit));
            }
        }
        finish(&ctx, tasks).await;
    }
}

fn lock(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
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
    let leftover: Vec<String> = lock(&ctx.leased).drain().collect();
    for id in leftover {
        release(ctx, &id).await;
    }
}

async fn release(ctx: &Context, id: &str) {
    if let Err(e) = ctx.store.release(id, now_millis()).await {
        tracing::warn!(error = %e, id, "releasing a lease failed; it expires on its own");
    }
}

async fn deliver(ctx: Arc<Context>, record: OutboxRecord, permit: OwnedSemaphorePermit) {
    let id = record.id.clone();
    if let Err(e) = attempt(&ctx, record).await {
        tracing::warn!(error = %e, id, "recording a delivery outcome failed; the lease will expire and it is retried");
    }
    lock(&ctx.leased).remove(&id);
    drop(permit);
}

/// One delivery attempt and its bookkeeping.
async fn attempt(ctx: &Context, record: OutboxRecord) -> Result<(), StoreError> {
    let store = &ctx.store;
    let message: Message = match serde_json::from_str(&record.payload) {
        Ok(m) => m,
        Err(e) => {
            ctx.metrics.dead.inc();
            let error = format!("unreadable stored message: {e}");
            return store.mark_dead(&record.id, &error, now_millis()).await;
        }
    };
    if ctx.gate.remaining().is_some() {
        // A 429 arrived after this record was claimed: hand it back untouched.
        return store.release(&record.id, now_millis()).await;
    }
    let outcome = ctx.inner.send(&message).await;
    let now = now_millis();
    let error = match outcome {
        Ok(_) => {
            ctx.metrics.delivered.inc();
            let latency = (now - record.created_at).max(0) as f64 / 1000.0;
            ctx.metrics.latency.observe(latency);
            return store.mark_delivered(&record.id, now).await;
        }
        Err(e) => e,
    };
    let text = error.to_string();
    let attempts = u32::try_from(record.attempts).unwrap_or(u32::MAX);
    let policy = ctx.config.retry;
    match error.retry() {
        Retry::Never => {
            ctx.metrics.dead.inc();
            store.mark_dead(&record.id, &text, now).await
        }
        Retry::At(reset) => {
            ctx.metrics.rate_limited.inc();
            let at = reset.unwrap_or_else(|| system_time(now) + policy.delay(attempts));
            ctx.gate.close_until(at);
            let at_ms = ctx.gate.open_at_ms().max(now);
            tracing::warn!(
                until_ms = at_ms,
                "rate limited; holding every send until the reset"
            );
            store.mark_retry(&record.id, at_ms, &text).await
        }
        Retry::Backoff => {
            let age = Duration::from_millis((now - record.created_at).max(0) as u64);
            if policy.exhausted(attempts, age) {
                ctx.metrics.dead.inc();
                let text = format!("{text} (gave up after {attempts} attempts)");
                store.mark_dead(&record.id, &text, now).await
            } else {
                ctx.metrics.retries.inc();
                let next = now + to_millis(policy.delay(attempts));
                store.mark_retry(&record.id, next, &text).await
            }
        }
    }
}
