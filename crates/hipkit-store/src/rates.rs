//! Send budgets shared by every process delivering with one token: HipChat's per-token and
//! per-recipient limits, and a 429's reset, kept where every replica sees them.
//!
//! Each key (a token, a recipient) has a ledger: the times of its latest sends (at most its
//! limit of them) and when a 429 said to hold off until. A send reserves one slot on every
//! key it counts against at once, at the earliest time all of them allow: never before a
//! hold, never before the key's latest reservation, and never less than the budget's span
//! after the `limit`-th latest. So each key sees at most `limit` sends in any interval
//! shorter than the span, whoever sends them. The arithmetic is here, shared; each backend
//! only keeps the ledgers and locks them for the read-modify-write.

use crate::{Millis, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// One budget a send counts against: at most `limit` sends per `span_ms` for `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// What is limited, e.g. a token's fingerprint or a recipient.
    pub key: String,
    /// Sends allowed in any `span_ms`-long interval (at least 1).
    pub limit: u32,
    /// The interval in milliseconds (the server's window plus a margin for transit).
    pub span_ms: i64,
}

/// What [`RateStore::reserve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// A slot is reserved on every budget at this time (not before `now`): send then.
    Granted(Millis),
    /// Nothing reserved: the earliest slot is at `at`, beyond the horizon, set by the budget
    /// at index `by`.
    Busy {
        /// The earliest time every budget would allow a send.
        at: Millis,
        /// The index (in the request) of the budget that allows it latest.
        by: usize,
    },
}

/// Shared send budgets (see the module documentation).
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Reserves one send against every budget at once, atomically, at the earliest time
    /// not before `now` all of them allow, if that is within `horizon_ms` of `now`;
    /// otherwise reserves nothing and says when. An empty list is granted `now`.
    async fn reserve(
        &self,
        budgets: &[Budget],
        now: Millis,
        horizon_ms: i64,
    ) -> Result<Reservation, StoreError>;

    /// Holds every send against `key` until `until` (a 429's reset; a later one wins).
    async fn hold(&self, key: &str, until: Millis) -> Result<(), StoreError>;
}

/// One key's state: its latest reservations (ascending, at most the limit of them) and the
/// time a 429 said to wait for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    /// Reserved send times, ascending.
    pub(crate) stamps: Vec<Millis>,
    /// No send before this (0: no hold).
    pub(crate) held_until: Millis,
}

impl Ledger {
    /// The earliest time not before `now` that this ledger allows one more send under
    /// `budget`.
    fn earliest(&self, budget: &Budget, now: Millis) -> Millis {
        let mut at = now.max(self.held_until);
        if let Some(&last) = self.stamps.last() {
            at = at.max(last);
        }
        let limit = budget.limit.max(1) as usize;
        if self.stamps.len() >= limit {
            let oldest_counted = self.stamps[self.stamps.len() - limit];
            at = at.max(oldest_counted.saturating_add(budget.span_ms));
        }
        at
    }

    /// Records a send at `at` (not before the latest), keeping only what can still delay a
    /// later send: the latest `limit`, and none a whole span before `at`.
    fn push(&mut self, at: Millis, budget: &Budget) {
        self.stamps.push(at);
        let keep = budget.limit.max(1) as usize;
        let over = self.stamps.len().saturating_sub(keep);
        let expired = self
            .stamps
            .partition_point(|&t| t.saturating_add(budget.span_ms) <= at);
        self.stamps.drain(..over.max(expired));
    }
}

/// Reserves one send on `ledgers` (one per budget, in the same order): see
/// [`RateStore::reserve`]. Changes the ledgers only when granted.
pub(crate) fn reserve_in(
    ledgers: &mut [Ledger],
    budgets: &[Budget],
    now: Millis,
    horizon_ms: i64,
) -> Reservation {
    let mut at = now;
    let mut by = 0;
    for (i, (ledger, budget)) in ledgers.iter().zip(budgets).enumerate() {
        let earliest = ledger.earliest(budget, now);
        if earliest > at {
            (at, by) = (earliest, i);
        }
    }
    if at > now.saturating_add(horizon_ms.max(0)) {
        return Reservation::Busy { at, by };
    }
    for (ledger, budget) in ledgers.iter_mut().zip(budgets) {
        ledger.push(at, budget);
    }
    Reservation::Granted(at)
}

/// Budgets in this process's memory: enough for a store that only one process delivers from
/// (the SQLite node); they start empty with the process.
#[derive(Debug, Default)]
pub struct MemoryRates {
    ledgers: Mutex<HashMap<String, Ledger>>,
}

#[async_trait]
impl RateStore for MemoryRates {
    async fn reserve(
        &self,
        budgets: &[Budget],
        now: Millis,
        horizon_ms: i64,
    ) -> Result<Reservation, StoreError> {
        let mut map = self.ledgers.lock().unwrap_or_else(|p| p.into_inner());
        let mut ledgers: Vec<Ledger> = budgets
            .iter()
            .map(|b| map.get(&b.key).cloned().unwrap_or_default())
            .collect();
        let reservation = reserve_in(&mut ledgers, budgets, now, horizon_ms);
        if let Reservation::Granted(_) = reservation {
            for (budget, ledger) in budgets.iter().zip(ledgers) {
                map.insert(budget.key.clone(), ledger);
            }
        }
        Ok(reservation)
    }

    async fn hold(&self, key: &str, until: Millis) -> Result<(), StoreError> {
        let mut map = self.ledgers.lock().unwrap_or_else(|p| p.into_inner());
        let ledger = map.entry(key.to_owned()).or_default();
        ledger.held_until = ledger.held_until.max(until);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn budget(limit: u32, span_ms: i64) -> Budget {
        Budget {
            key: "k".into(),
            limit,
            span_ms,
        }
    }

    /// Reserves `n` sends one after another at `now`, with an unlimited horizon.
    fn times(ledger: &mut Ledger, b: &Budget, now: Millis, n: usize) -> Vec<Millis> {
        (0..n)
            .map(|_| {
                match reserve_in(
                    std::slice::from_mut(ledger),
                    std::slice::from_ref(b),
                    now,
                    i64::MAX,
                ) {
                    Reservation::Granted(at) => at,
                    busy => panic!("{busy:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn a_burst_takes_the_limit_then_waits_a_span_per_slot() {
        let b = budget(3, 1000);
        let mut l = Ledger::default();
        assert_eq!(times(&mut l, &b, 0, 7), [0, 0, 0, 1000, 1000, 1000, 2000]);
        assert_eq!(l.stamps, [2000], "only what can delay a later send");
    }

    #[test]
    fn no_interval_shorter_than_the_span_holds_more_than_the_limit() {
        let b = budget(4, 500);
        let mut l = Ledger::default();
        let mut all = Vec::new();
        for now in (0..3000).step_by(37) {
            all.extend(times(&mut l, &b, now, 2));
        }
        for (i, &start) in all.iter().enumerate() {
            let within = all[i..].iter().take_while(|&&t| t < start + 500).count();
            assert!(within <= 4, "{within} sends from {start}: {all:?}");
        }
        assert!(all.windows(2).all(|w| w[0] <= w[1]), "in order");
    }

    #[test]
    fn beyond_the_horizon_nothing_is_reserved_and_the_latest_budget_is_named() {
        let budgets = [budget(10, 1000), budget(1, 60_000)];
        let mut ledgers = vec![Ledger::default(), Ledger::default()];
        assert_eq!(
            reserve_in(&mut ledgers, &budgets, 5, 100),
            Reservation::Granted(5)
        );
        let before = ledgers.clone();
        assert_eq!(
            reserve_in(&mut ledgers, &budgets, 6, 100),
            Reservation::Busy { at: 60_005, by: 1 }
        );
        assert_eq!(ledgers, before, "a refusal changes nothing");
    }

    #[test]
    fn a_hold_delays_every_send_until_it_ends() {
        let b = budget(100, 1000);
        let mut l = Ledger {
            held_until: 5000,
            ..Ledger::default()
        };
        assert_eq!(times(&mut l, &b, 10, 2), [5000, 5000]);
    }
}
