//! Enqueue wake-ups across replicas: every enqueue (and requeue) sends `NOTIFY` on one
//! channel at its commit; each replica's listener wakes its idle workers, so a message
//! accepted by one replica is picked up by an idle other at once rather than at its next
//! poll.

use super::PostgresStore;
use sqlx::postgres::PgListener;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// The channel enqueues notify on.
pub(super) const CHANNEL: &str = "hipkit_outbox";

/// The statement an enqueueing transaction runs (delivered at its commit, once per
/// transaction however often it runs).
pub(super) const NOTIFY: &str = "SELECT pg_notify('hipkit_outbox', '')";

/// Pause before listening again after the listener failed (the database away).
const RETRY: Duration = Duration::from_secs(1);

impl PostgresStore {
    /// Starts a task that wakes `wake` on every enqueue notification; it ends when `wake`
    /// is dropped. After a lost connection it wakes `wake` once too (notifications sent
    /// meanwhile are lost) and listens again.
    pub(super) fn listen(&self, wake: &Arc<Notify>) {
        let pool = self.pool.clone();
        let wake = Arc::downgrade(wake);
        tokio::spawn(async move {
            while wake.strong_count() > 0 {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if listener.listen(CHANNEL).await.is_ok() {
                            relay(&mut listener, &wake).await;
                        }
                    }
                    Err(_) if pool.is_closed() => return,
                    Err(_) => {}
                }
                if !poke(&wake) {
                    return;
                }
                tokio::time::sleep(RETRY).await;
            }
        });
    }
}

/// Wakes `wake` for each notification until the connection fails or `wake` is gone.
async fn relay(listener: &mut PgListener, wake: &Weak<Notify>) {
    while let Ok(Some(_)) = listener.try_recv().await {
        if !poke(wake) {
            return;
        }
    }
}

/// Wakes one waiter (or the next to wait); false when nobody holds `wake` any more.
fn poke(wake: &Weak<Notify>) -> bool {
    match wake.upgrade() {
        Some(wake) => {
            wake.notify_one();
            true
        }
        None => false,
    }
}
