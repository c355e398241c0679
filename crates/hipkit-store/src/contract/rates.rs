//! [`RateStore`] scenarios: budgets per key, reservations on several keys at once, the
//! horizon, holds, and concurrent reservers never exceeding a limit.

use crate::{Budget, RateStore, Reservation};
use std::sync::Arc;

fn budget(key: &str, limit: u32, span_ms: i64) -> Budget {
    Budget {
        key: key.into(),
        limit,
        span_ms,
    }
}

async fn granted(store: &dyn RateStore, budgets: &[Budget], now: i64, horizon: i64) -> i64 {
    match store.reserve(budgets, now, horizon).await.unwrap() {
        Reservation::Granted(at) => at,
        busy => panic!("expected a slot within {horizon} ms of {now}, got {busy:?}"),
    }
}

/// A key's limit per span holds; other keys are independent; an empty list is granted.
pub async fn rates_limit_per_key_and_span(store: &dyn RateStore) {
    let token = [budget("token", 2, 1000)];
    assert_eq!(granted(store, &token, 100, 0).await, 100);
    assert_eq!(granted(store, &token, 150, 0).await, 150);
    assert_eq!(
        store.reserve(&token, 200, 0).await.unwrap(),
        Reservation::Busy { at: 1100, by: 0 },
        "the third waits a span after the first"
    );
    assert_eq!(
        granted(store, &token, 200, 900).await,
        1100,
        "reserved ahead"
    );
    assert_eq!(granted(store, &token, 200, 10_000).await, 1150);
    assert_eq!(
        granted(store, &[budget("other", 2, 1000)], 200, 0).await,
        200
    );
    assert_eq!(
        store.reserve(&[], 7, 0).await.unwrap(),
        Reservation::Granted(7)
    );
}

/// A reservation counts against every budget it names, or none of them.
pub async fn rates_reserve_all_budgets_or_none(store: &dyn RateStore) {
    let room_a = [budget("token", 3, 1000), budget("room:a", 1, 5000)];
    let room_b = [budget("token", 3, 1000), budget("room:b", 1, 5000)];
    assert_eq!(granted(store, &room_a, 0, 0).await, 0);
    assert_eq!(
        store.reserve(&room_a, 10, 100).await.unwrap(),
        Reservation::Busy { at: 5000, by: 1 },
        "the room is used up"
    );
    // The refused reservation took nothing from the token: two more fit at once.
    assert_eq!(granted(store, &room_b, 20, 0).await, 20);
    assert_eq!(granted(store, &[budget("token", 3, 1000)], 30, 0).await, 30);
    assert_eq!(
        store.reserve(&room_b, 40, 0).await.unwrap(),
        Reservation::Busy { at: 5020, by: 1 }
    );
}

/// A hold (a 429's reset) delays every send of its key; a later hold wins, an earlier one
/// changes nothing.
pub async fn rates_hold_until_the_reset(store: &dyn RateStore) {
    let token = [budget("token", 100, 1000), budget("room:a", 100, 1000)];
    store.hold("token", 9000).await.unwrap();
    store.hold("token", 4000).await.unwrap();
    assert_eq!(
        store.reserve(&token, 10, 1000).await.unwrap(),
        Reservation::Busy { at: 9000, by: 0 }
    );
    assert_eq!(granted(store, &token, 10, 9000).await, 9000);
    assert_eq!(
        granted(store, &[budget("room:a", 100, 1000)], 10, 10_000).await,
        9000,
        "not before the room's latest reservation"
    );
}

/// Reservers racing on one key (replicas) never get more than the limit into one span.
pub async fn rates_concurrent_reservations_keep_the_limit(store: Arc<dyn RateStore>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..10 {
                    got.push(granted(&*store, &[budget("shared", 5, 1000)], 0, i64::MAX).await);
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let expected: Vec<i64> = (0..80).map(|i| (i / 5) * 1000).collect();
    assert_eq!(all, expected, "five slots per second, none shared");
}
