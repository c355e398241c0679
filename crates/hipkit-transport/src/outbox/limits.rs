//! HipChat's limits kept for the whole cluster: before each message the workers reserve a
//! slot on the token's budget and on its recipient's, in the store every replica shares,
//! and a 429's reset is written there too.

use hipkit_store::{Budget, Millis, RateStore, Reservation, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// The limits to keep (`[hipchat]`'s `rate_*`, `flood_*` and `limit_margin_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Requests per token in `token_window` (0: no limit).
    pub token_limit: u32,
    /// The token's window.
    pub token_window: Duration,
    /// Messages per recipient in `flood_window` (0: no limit).
    pub flood_limit: u32,
    /// The recipient's window.
    pub flood_window: Duration,
    /// Added to both windows: covers a request's time in transit.
    pub margin: Duration,
}

impl SendLimits {
    /// The limits of a `[hipchat]` section.
    pub fn from_config(config: &hipchat::ClientConfig) -> Self {
        Self {
            token_limit: config.rate_limit,
            token_window: Duration::from_secs(config.rate_window_secs),
            flood_limit: config.flood_limit,
            flood_window: Duration::from_secs(config.flood_window_secs),
            margin: Duration::from_millis(config.limit_margin_ms),
        }
    }
}

/// What a message's reservation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// Send at this time (now or soon).
    At(Millis),
    /// The token's budget has no slot before this time: hold every message until then.
    TokenBusy(Millis),
    /// The recipient's budget has no slot before this time: this message waits.
    RecipientBusy(Millis),
}

/// The shared budgets as the workers use them: one token, its recipients.
#[derive(Clone)]
pub struct SharedLimits {
    store: Arc<dyn RateStore>,
    limits: SendLimits,
    token_key: String,
    horizon: Duration,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits")
            .field("limits", &self.limits)
            .field("horizon", &self.horizon)
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> i64 {
    super::attempt::to_millis(d)
}

impl SharedLimits {
    /// Budgets in `store` for `token` (kept under a fingerprint, never the token itself),
    /// waiting at most `horizon` for a slot while holding a message's lease; a later slot
    /// hands the message back to be tried then.
    pub fn new(
        store: Arc<dyn RateStore>,
        limits: SendLimits,
        token: &hipchat::Token,
        horizon: Duration,
    ) -> Self {
        let mut token_key = super::fingerprint(token.expose());
        token_key.truncate(16);
        Self {
            store,
            limits,
            token_key: format!("token:{token_key}"),
            horizon,
        }
    }

    /// The budgets a message to `destination` counts against: the token's first.
    fn budgets(&self, destination: &str) -> Vec<Budget> {
        let l = &self.limits;
        let mut budgets = Vec::with_capacity(2);
        if l.token_limit > 0 {
            budgets.push(Budget {
                key: self.token_key.clone(),
                limit: l.token_limit,
                span_ms: millis(l.token_window + l.margin),
            });
        }
        if l.flood_limit > 0 {
            budgets.push(Budget {
                key: format!("{}/{destination}", self.token_key),
                limit: l.flood_limit,
                span_ms: millis(l.flood_window + l.margin),
            });
        }
        budgets
    }

    /// Reserves a slot for one message to `destination`, at `now` or later.
    pub(super) async fn reserve(&self, destination: &str, now: Millis) -> Result<Slot, StoreError> {
        let budgets = self.budgets(destination);
        let reservation = self
            .store
            .reserve(&budgets, now, millis(self.horizon))
            .await?;
        Ok(match reservation {
            Reservation::Granted(at) => Slot::At(at),
            Reservation::Busy { at, by }
                if budgets.get(by).is_some_and(|b| b.key == self.token_key) =>
            {
                Slot::TokenBusy(at)
            }
            Reservation::Busy { at, .. } => Slot::RecipientBusy(at),
        })
    }

    /// Holds every send with the token until `until` (a 429's reset), for every replica.
    pub(super) async fn hold(&self, until: Millis) -> Result<(), StoreError> {
        self.store.hold(&self.token_key, until).await
    }
}
