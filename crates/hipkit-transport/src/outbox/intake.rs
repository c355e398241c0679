//! The outbox's intake: senders hand records to one batching writer that commits whatever
//! queued up while the previous commit ran (one fsync per batch). Each record carries a
//! [`Ticket`] so a sender whose deadline passes can withdraw it before the writer takes it:
//! a record is either taken (and its commit result reported) or withdrawn (never stored).

use super::throttle::Throttle;
use hipkit_store::{Enqueued, IDEMPOTENCY_KEY_RETENTION, NewRecord, OutboxStore, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

/// Most records committed in one transaction.
pub(super) const MAX_BATCH: usize = 512;

/// How often, at most, the writer forgets expired idempotency keys.
const KEY_PURGE_EVERY: Duration = Duration::from_secs(300);

const WAITING: u8 = 0;
const TAKEN: u8 = 1;
const WITHDRAWN: u8 = 2;

/// A pending record's fate, decided once: waiting, then taken by the writer or withdrawn
/// by its sender.
#[derive(Debug, Clone, Default)]
pub(super) struct Ticket(Arc<AtomicU8>);

impl Ticket {
    /// The writer takes the record; false if its sender withdrew it first.
    fn take(&self) -> bool {
        self.settle(TAKEN)
    }

    /// The sender withdraws the record; false if the writer took it first.
    pub(super) fn withdraw(&self) -> bool {
        self.settle(WITHDRAWN)
    }

    fn settle(&self, to: u8) -> bool {
        self.0
            .compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Withdraws the record when the sending future is dropped before the writer took it (a
/// caller's own timeout, a closed connection).
pub(super) struct WithdrawOnDrop(pub(super) Ticket);

impl Drop for WithdrawOnDrop {
    fn drop(&mut self) {
        self.0.withdraw();
    }
}

/// What the writer answers a taken group: what became of each record, in order.
pub(super) type Reply = Result<Vec<Enqueued>, Arc<StoreError>>;

/// A group of records waiting for the writer: committed in one transaction, all or none
/// (usually one record; a bridge call's parcels, one per destination, go together).
pub(super) struct Pending {
    pub(super) records: Vec<NewRecord>,
    pub(super) reply: oneshot::Sender<Reply>,
    pub(super) ticket: Ticket,
}

/// Runs `purge_idempotency_keys` at most once per period, off the writer's path.
struct KeyJanitor {
    every: Duration,
    next: Option<Instant>,
}

impl KeyJanitor {
    /// Whether a purge is due at `now` (the first one is); if so, the next is `every` later.
    fn due(&mut self, now: Instant) -> bool {
        if self.next.is_some_and(|next| now < next) {
            return false;
        }
        self.next = Some(now + self.every);
        true
    }
}

/// Commits what has queued up while the previous commit ran, skipping withdrawn records; a
/// group is never split between two transactions.
pub(super) async fn batch_writer(
    store: Arc<dyn OutboxStore>,
    mut rx: mpsc::Receiver<Pending>,
    wake: Arc<Notify>,
) {
    let mut janitor = KeyJanitor {
        every: KEY_PURGE_EVERY,
        next: None,
    };
    let mut failures = Throttle::default();
    while let Some(first) = rx.recv().await {
        let mut count = first.records.len();
        let mut batch = vec![first];
        while count < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => {
                    count += p.records.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        batch.retain(|p| !p.reply.is_closed() && p.ticket.take());
        if batch.is_empty() {
            continue;
        }
        // Moved, not copied: a record may carry kilobytes (an HTTP push's body).
        let mut records = Vec::with_capacity(count);
        let mut replies = Vec::with_capacity(batch.len());
        for p in batch {
            replies.push((p.reply, p.records.len()));
            records.extend(p.records);
        }
        match store.enqueue(&records).await {
            Ok(outcomes) => {
                failures.succeeded();
                let mut outcomes = outcomes.into_iter();
                for (reply, len) in replies {
                    let _ = reply.send(Ok(outcomes.by_ref().take(len).collect()));
                }
                wake.notify_one();
                if janitor.due(Instant::now()) {
                    tokio::spawn(purge_keys(store.clone()));
                }
            }
            Err(e) => {
                if let Some(suppressed) = failures.failed(Instant::now()) {
                    tracing::error!(error = %e, records = records.len(), suppressed, "outbox commit failed");
                }
                let shared = Arc::new(e);
                for (reply, _) in replies {
                    let _ = reply.send(Err(shared.clone()));
                }
            }
        }
    }
}

/// Forgets idempotency keys older than the retention.
async fn purge_keys(store: Arc<dyn OutboxStore>) {
    let cutoff = hipkit_store::now_millis() - super::attempt::to_millis(IDEMPOTENCY_KEY_RETENTION);
    match store.purge_idempotency_keys(cutoff).await {
        Ok(n) if n > 0 => tracing::debug!(purged = n, "expired idempotency keys forgotten"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "purging expired idempotency keys failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_taken_or_withdrawn_once() {
        let t = Ticket::default();
        assert!(t.take());
        assert!(
            !t.withdraw(),
            "taken first: the sender must wait for the commit"
        );
        let w = Ticket::default();
        drop(WithdrawOnDrop(w.clone()));
        assert!(!w.take(), "a dropped sender's record is skipped");
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_purged_at_most_once_per_period() {
        let mut j = KeyJanitor {
            every: KEY_PURGE_EVERY,
            next: None,
        };
        assert!(j.due(Instant::now()), "the first commit purges");
        assert!(!j.due(Instant::now()));
        tokio::time::advance(KEY_PURGE_EVERY - Duration::from_secs(1)).await;
        assert!(!j.due(Instant::now()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(j.due(Instant::now()));
        assert!(!j.due(Instant::now()));
    }
}
