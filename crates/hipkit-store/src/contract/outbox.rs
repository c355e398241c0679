//! [`OutboxStore`] scenarios. Times are small fixed numbers: the store never reads a clock
//! for anything a scenario checks.

use crate::{
    Enqueued, IdempotencyKey, Millis, NewRecord, OutboxRecord, OutboxStore, Outcome, Requeue,
    State, StateCounts,
};

/// A record for `dest` created (and first due) at `at`.
fn new(dest: &str, at: Millis) -> NewRecord {
    NewRecord {
        destination: dest.into(),
        payload: format!(r#"{{"message":"to {dest} at {at}"}}"#),
        created_at: at,
        idempotency: None,
        lane: None,
    }
}

/// The ids of a batch that must have been stored in full.
fn stored(outcomes: Vec<Enqueued>) -> Vec<String> {
    outcomes
        .into_iter()
        .map(|e| match e {
            Enqueued::New(id) => id,
            other => panic!("expected a new record, got {other:?}"),
        })
        .collect()
}

/// Enqueues one record and returns its id.
async fn enqueue_one(store: &dyn OutboxStore, dest: &str, at: Millis) -> String {
    let ids = store
        .enqueue(&[new(dest, at)])
        .await
        .map(stored)
        .expect("enqueue");
    ids[0].clone()
}

async fn one(store: &dyn OutboxStore, id: &str) -> OutboxRecord {
    store
        .get(id)
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("record {id} is missing"))
}

fn ids(records: &[OutboxRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

/// Enqueued records get distinct ids in input order and start queued, unattempted, due at
/// creation; an empty batch is a no-op.
pub async fn outbox_enqueue_keeps_order_and_ids(store: &dyn OutboxStore) {
    assert!(store.enqueue(&[]).await.expect("empty enqueue").is_empty());
    let batch = [new("room:A", 10), new("user:@bob", 11), new("room:C", 12)];
    let got = store.enqueue(&batch).await.map(stored).expect("enqueue");
    assert_eq!(got.len(), 3);
    let distinct: std::collections::HashSet<_> = got.iter().collect();
    assert_eq!(distinct.len(), 3, "ids are distinct");
    for (id, input) in got.iter().zip(&batch) {
        let r = one(store, id).await;
        assert_eq!(r.destination, input.destination);
        assert_eq!(r.payload, input.payload);
        assert_eq!((r.state, r.attempts), (State::Queued, 0));
        assert_eq!(
            (r.created_at, r.next_attempt_at),
            (input.created_at, input.created_at)
        );
        assert_eq!(
            (r.lease_until, r.last_error.clone(), r.delivered_at),
            (None, None, None)
        );
    }
    let more = store
        .enqueue(&[new("room:D", 13)])
        .await
        .map(stored)
        .expect("enqueue");
    let listed = store.list(None, 10).await.expect("list");
    let expected: Vec<&str> = got.iter().chain(&more).map(String::as_str).collect();
    assert_eq!(ids(&listed), expected, "list is in creation order");
}

/// A claim takes at most `limit` due records in due order, leases them until
/// `now + lease_ms` and counts an attempt; leased records are not claimed again until the
/// lease expires; records not yet due are left alone.
pub async fn outbox_claim_limits_due_order_and_leases(store: &dyn OutboxStore) {
    let late = enqueue_one(store, "room:late", 300).await;
    let first = enqueue_one(store, "room:first", 100).await;
    let second = enqueue_one(store, "room:second", 200).await;
    let future = enqueue_one(store, "room:future", 5000).await;
    assert!(
        store.claim(50, 500, 10).await.expect("claim").is_empty(),
        "nothing due yet"
    );

    let claimed = store.claim(1000, 500, 2).await.expect("claim");
    assert_eq!(
        ids(&claimed),
        [first.as_str(), second.as_str()],
        "limit, in due order"
    );
    for r in &claimed {
        assert_eq!(
            (r.state, r.attempts, r.lease_until),
            (State::InFlight, 1, Some(1500))
        );
    }
    let rest = store.claim(1001, 500, 10).await.expect("claim");
    assert_eq!(
        ids(&rest),
        [late.as_str()],
        "leased and future records are not claimed"
    );
    assert!(store.claim(1499, 500, 10).await.expect("claim").is_empty());

    let again = store.claim(1500, 500, 10).await.expect("claim");
    assert_eq!(
        ids(&again),
        [first.as_str(), second.as_str()],
        "expired leases come back"
    );
    assert!(
        again
            .iter()
            .all(|r| r.attempts == 2 && r.lease_until == Some(2000))
    );
    assert_eq!(one(store, &future).await.state, State::Queued);
    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.queued, counts.in_flight), (1, 3));
}

/// `Delivered` marks the record delivered at the given time and ends its lease.
pub async fn outbox_delivered_outcome(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "room:A", 0).await;
    store.claim(0, 1000, 1).await.expect("claim");
    store.mark_delivered(&id, 250).await.expect("delivered");
    let r = one(store, &id).await;
    assert_eq!(
        (r.state, r.delivered_at, r.lease_until),
        (State::Delivered, Some(250), None)
    );
    assert_eq!(r.attempts, 1);
    assert!(store.claim(5000, 1000, 10).await.expect("claim").is_empty());
}

/// `Retry` queues the record again at the given time with the error, keeping its attempts.
pub async fn outbox_retry_outcome(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "room:A", 0).await;
    let claim = store.claim(0, 1000, 1).await.expect("claim")[0].claim();
    store
        .mark_retry(&id, claim, 5000, "503 Service Unavailable")
        .await
        .expect("retry");
    let r = one(store, &id).await;
    assert_eq!(
        (r.state, r.attempts, r.next_attempt_at),
        (State::Queued, 1, 5000)
    );
    assert_eq!(r.last_error.as_deref(), Some("503 Service Unavailable"));
    assert_eq!(r.lease_until, None);
    assert_eq!(store.next_due().await.expect("next due"), Some(5000));
    assert!(
        store.claim(4999, 1000, 1).await.expect("claim").is_empty(),
        "not due yet"
    );
    let again = store.claim(5000, 1000, 1).await.expect("claim");
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (2, Some("503 Service Unavailable"))
    );
}

/// `Dead` ends the record's attempts with the error; it is never claimed again.
pub async fn outbox_dead_outcome(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "room:A", 0).await;
    let claim = store.claim(0, 1000, 1).await.expect("claim")[0].claim();
    store
        .mark_dead(&id, claim, "401 Invalid OAuth session", 10)
        .await
        .expect("dead");
    let r = one(store, &id).await;
    assert_eq!((r.state, r.lease_until), (State::Dead, None));
    assert_eq!(r.last_error.as_deref(), Some("401 Invalid OAuth session"));
    assert!(
        store
            .claim(1_000_000, 1000, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(
        ids(&store.list(Some(State::Dead), 10).await.expect("list")),
        [id.as_str()]
    );
}

/// `Release` queues the record untouched and gives back the attempt its claim counted.
pub async fn outbox_release_gives_the_attempt_back(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "user:@bob", 0).await;
    let claim = store.claim(0, 1000, 1).await.expect("claim")[0].claim();
    store.release(&id, claim, 1).await.expect("release");
    let r = one(store, &id).await;
    assert_eq!(
        (r.state, r.attempts, r.lease_until),
        (State::Queued, 0, None)
    );
    assert_eq!(store.claim(1, 1000, 1).await.expect("claim")[0].attempts, 1);
}

/// A worker whose lease expired may still report: its `Dead`, `Retry` or `Release` must not
/// touch the record another claim now holds.
pub async fn outbox_late_outcomes_of_an_expired_claim_change_nothing(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "room:A", 0).await;
    let stale = store.claim(0, 1000, 1).await.expect("claim")[0].claim();
    let current = store.claim(1000, 1000, 1).await.expect("claim")[0].clone();
    assert_eq!(current.attempts, 2, "the expired lease was claimed again");
    store
        .mark_dead(&id, stale, "late dead", 1100)
        .await
        .expect("dead");
    store
        .mark_retry(&id, stale, 9000, "late retry")
        .await
        .expect("retry");
    store.release(&id, stale, 1100).await.expect("release");
    assert_eq!(
        one(store, &id).await,
        current,
        "the current claim is untouched"
    );

    store
        .release(&id, current.claim(), 1200)
        .await
        .expect("release");
    let r = one(store, &id).await;
    assert_eq!(
        (r.state, r.attempts),
        (State::Queued, 1),
        "the current claim still settles"
    );
}

/// A renewal (a replica's heartbeat) moves the lease of a record still held under its claim
/// and nothing else: no other claim takes the record meanwhile, and the claim's outcome
/// still settles it. A settled record is not renewed.
pub async fn outbox_renewal_extends_a_held_lease_and_keeps_its_claim(store: &dyn OutboxStore) {
    assert_eq!(store.renew(&[], 5000).await.expect("renew nothing"), 0);
    let a = enqueue_one(store, "room:A", 0).await;
    let b = enqueue_one(store, "room:B", 0).await;
    let claimed = store.claim(0, 1000, 2).await.expect("claim");
    assert_eq!(ids(&claimed).len(), 2);
    let held: Vec<(String, crate::Claim)> =
        claimed.iter().map(|r| (r.id.clone(), r.claim())).collect();
    assert_eq!(store.renew(&held, 3000).await.expect("renew"), 2);
    let renewed = one(store, &a).await;
    assert_eq!(
        (renewed.state, renewed.attempts, renewed.lease_until),
        (State::InFlight, 1, Some(3000)),
        "only the lease moved"
    );
    assert_eq!(store.next_due().await.expect("next due"), Some(3000));
    assert!(
        store.claim(2000, 1000, 10).await.expect("claim").is_empty(),
        "a renewed lease is not taken over before its new expiry"
    );
    let claim_of = |id: &str| held.iter().find(|(h, _)| h == id).expect("held").1;
    store
        .mark_retry(&a, claim_of(&a), 4000, "503")
        .await
        .expect("retry");
    let retried = one(store, &a).await;
    assert_eq!(
        (retried.state, retried.next_attempt_at, retried.lease_until),
        (State::Queued, 4000, None),
        "the claim settles after its lease was renewed"
    );
    store
        .release(&b, claim_of(&b), 2500)
        .await
        .expect("release");
    assert_eq!(one(store, &b).await.state, State::Queued);
    assert_eq!(
        store.renew(&held, 9000).await.expect("renew settled"),
        0,
        "settled records are not renewed"
    );
    assert_eq!(one(store, &b).await.lease_until, None);
}

/// A lease left to expire (its replica died) is taken over by the next claim. The old claim
/// can then neither renew the record (a heartbeat coming back) nor settle it; the new one
/// renews and settles it. A release followed by a new claim with the same attempt count is
/// a new claim too.
pub async fn outbox_takeover_of_an_expired_lease_fences_the_old_claim(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "room:A", 0).await;
    let old = store.claim(0, 1000, 1).await.expect("claim")[0].claim();
    assert!(store.claim(999, 1000, 1).await.expect("claim").is_empty());
    let taken = store.claim(1000, 1000, 1).await.expect("takeover");
    assert_eq!(
        ids(&taken),
        [id.as_str()],
        "the expired lease is taken over"
    );
    let new = taken[0].claim();
    assert_ne!(old, new);
    let held_old = [(id.clone(), old)];
    assert_eq!(store.renew(&held_old, 9000).await.expect("renew"), 0);
    assert_eq!(one(store, &id).await.lease_until, Some(2000));
    store
        .mark_retry(&id, old, 9000, "late retry")
        .await
        .expect("retry");
    store.release(&id, old, 1500).await.expect("release");
    store
        .mark_dead(&id, old, "late dead", 1500)
        .await
        .expect("dead");
    assert_eq!(
        one(store, &id).await,
        taken[0],
        "the new claim is untouched"
    );
    let held_new = [(id.clone(), new)];
    assert_eq!(store.renew(&held_new, 5000).await.expect("renew"), 1);
    assert!(store.claim(4000, 1000, 1).await.expect("claim").is_empty());

    // Release gives the attempt back: the next claim has the attempt count the released
    // one had, and is still a different claim.
    store.release(&id, new, 4100).await.expect("release");
    let third = store.claim(4100, 1000, 1).await.expect("claim")[0].clone();
    assert_eq!(third.attempts, taken[0].attempts);
    store
        .mark_dead(&id, new, "released claim", 4200)
        .await
        .expect("dead");
    assert_eq!(one(store, &id).await, third, "the released claim is over");
    store
        .mark_dead(&id, third.claim(), "401", 4300)
        .await
        .expect("dead");
    assert_eq!(one(store, &id).await.state, State::Dead);
}

/// Once delivered, a record stays delivered whatever late outcome arrives.
pub async fn outbox_outcomes_after_delivery_change_nothing(store: &dyn OutboxStore) {
    let id = enqueue_one(store, "room:A", 0).await;
    let claim = store.claim(0, 1000, 1).await.expect("claim")[0].claim();
    store.mark_delivered(&id, 10).await.expect("delivered");
    let delivered = one(store, &id).await;
    store
        .mark_dead(&id, claim, "late dead", 20)
        .await
        .expect("dead");
    store
        .mark_retry(&id, claim, 30, "late retry")
        .await
        .expect("retry");
    store.release(&id, claim, 40).await.expect("release");
    assert_eq!(one(store, &id).await, delivered);
}

/// Outcomes of every kind in one call each apply to their own record.
pub async fn outbox_mixed_outcomes_in_one_batch(store: &dyn OutboxStore) {
    let batch = [
        new("room:A", 0),
        new("room:B", 1),
        new("room:C", 2),
        new("room:D", 3),
    ];
    let got = store.enqueue(&batch).await.map(stored).expect("enqueue");
    let claimed = store.claim(10, 1000, 4).await.expect("claim");
    let claim = |i: usize| claimed[i].claim();
    let outcomes = [
        Outcome::Delivered {
            id: got[0].clone(),
            at: 20,
        },
        Outcome::Retry {
            id: got[1].clone(),
            claim: claim(1),
            next_attempt_at: 500,
            error: "busy".into(),
        },
        Outcome::Dead {
            id: got[2].clone(),
            claim: claim(2),
            error: "gone".into(),
            at: 20,
        },
        Outcome::Release {
            id: got[3].clone(),
            claim: claim(3),
            at: 20,
        },
    ];
    store.record(&outcomes).await.expect("record");
    let states: Vec<(State, i64)> = {
        let mut v = Vec::new();
        for id in &got {
            let r = one(store, id).await;
            v.push((r.state, r.attempts));
        }
        v
    };
    assert_eq!(
        states,
        [
            (State::Delivered, 1),
            (State::Queued, 1),
            (State::Dead, 1),
            (State::Queued, 0)
        ]
    );
    store.record(&[]).await.expect("an empty batch is a no-op");
}

/// `requeue` revives any undelivered record with a fresh budget; `requeue_all_dead` every
/// dead one; `purge_delivered` deletes delivered records older than the cut-off only.
pub async fn outbox_requeue_requeue_all_dead_and_purge(store: &dyn OutboxStore) {
    let got = store
        .enqueue(&[new("room:A", 0), new("room:B", 0), new("room:C", 0)])
        .await
        .map(stored)
        .expect("enqueue");
    let claimed = store.claim(0, 1000, 3).await.expect("claim");
    for r in &claimed {
        store
            .mark_dead(&r.id, r.claim(), "401", 5)
            .await
            .expect("dead");
    }
    assert_eq!(
        store.requeue(&got[0], 10, false).await.expect("requeue"),
        Requeue::Requeued
    );
    let r = one(store, &got[0]).await;
    assert_eq!(
        (r.state, r.attempts, r.next_attempt_at),
        (State::Queued, 0, 10)
    );
    assert_eq!(
        store
            .requeue("no-such-id", 10, true)
            .await
            .expect("requeue"),
        Requeue::NotFound
    );
    assert_eq!(store.requeue_all_dead(20).await.expect("requeue dead"), 2);
    assert_eq!(store.requeue_all_dead(20).await.expect("requeue dead"), 0);
    assert_eq!(store.counts().await.expect("counts").queued, 3);

    let claimed = store.claim(20, 1000, 3).await.expect("claim");
    assert!(claimed.iter().all(|r| r.attempts == 1), "a fresh budget");
    store.mark_delivered(&got[0], 100).await.expect("delivered");
    store.mark_delivered(&got[1], 200).await.expect("delivered");
    assert_eq!(
        store.requeue(&got[0], 300, true).await.expect("requeue"),
        Requeue::Delivered,
        "delivered stays delivered, even forced"
    );
    assert_eq!(one(store, &got[0]).await.state, State::Delivered);
    assert_eq!(store.purge_delivered(100).await.expect("purge"), 0);
    assert_eq!(store.purge_delivered(101).await.expect("purge"), 1);
    assert!(store.get(&got[0]).await.expect("get").is_none());
    assert_eq!(store.purge_delivered(1000).await.expect("purge"), 1);
    assert_eq!(
        ids(&store.list(None, 10).await.expect("list")),
        [got[2].as_str()]
    );
}

/// A record in flight is being sent right now: `requeue` leaves it (and its lease) alone,
/// so it is not delivered twice, unless forced; a queued one is simply made due again.
pub async fn outbox_requeue_leaves_in_flight_records_unless_forced(store: &dyn OutboxStore) {
    let got = store
        .enqueue(&[new("room:A", 0), new("room:B", 0)])
        .await
        .map(stored)
        .expect("enqueue");
    let leased = store.claim(0, 60_000, 1).await.expect("claim")[0].clone();
    assert_eq!(leased.id, got[0]);
    assert_eq!(
        store.requeue(&got[0], 10, false).await.expect("requeue"),
        Requeue::InFlight
    );
    assert_eq!(one(store, &got[0]).await, leased, "untouched");
    let others = store.claim(20, 60_000, 10).await.expect("claim");
    assert_eq!(
        ids(&others),
        [got[1].as_str()],
        "only the other record is claimable: no second delivery"
    );

    assert_eq!(
        store.requeue(&got[0], 30, true).await.expect("requeue"),
        Requeue::Requeued
    );
    let r = one(store, &got[0]).await;
    assert_eq!(
        (r.state, r.attempts, r.next_attempt_at, r.lease_until),
        (State::Queued, 0, 30, None)
    );
    store
        .mark_retry(&got[0], leased.claim(), 90, "late")
        .await
        .expect("retry");
    assert_eq!(
        one(store, &got[0]).await.next_attempt_at,
        30,
        "the old lease's late outcome does not touch the forced requeue"
    );
}

/// `counts` per state, `next_due` (queued due times and lease expiries), `list` filters.
pub async fn outbox_counts_next_due_and_list(store: &dyn OutboxStore) {
    assert_eq!(
        store.counts().await.expect("counts"),
        StateCounts::default()
    );
    assert_eq!(store.next_due().await.expect("next due"), None);
    let got = store
        .enqueue(&[
            new("room:A", 100),
            new("room:B", 200),
            new("room:C", 300),
            new("room:D", 400),
        ])
        .await
        .map(stored)
        .expect("enqueue");
    assert_eq!(store.next_due().await.expect("next due"), Some(100));
    let claimed = store.claim(250, 10, 2).await.expect("claim");
    assert_eq!(
        store.next_due().await.expect("next due"),
        Some(260),
        "a lease expiry"
    );
    store
        .mark_delivered(&claimed[0].id, 255)
        .await
        .expect("delivered");
    store
        .mark_dead(&claimed[1].id, claimed[1].claim(), "x", 255)
        .await
        .expect("dead");
    assert_eq!(store.next_due().await.expect("next due"), Some(300));
    let counts = store.counts().await.expect("counts");
    assert_eq!(
        counts,
        StateCounts {
            queued: 2,
            in_flight: 0,
            delivered: 1,
            dead: 1
        }
    );
    assert_eq!(counts.get(State::Queued), 2);
    let queued = store.list(Some(State::Queued), 10).await.expect("list");
    assert_eq!(ids(&queued), [got[2].as_str(), got[3].as_str()]);
    assert_eq!(store.list(None, 3).await.expect("list").len(), 3, "limit");
    assert!(
        store
            .list(Some(State::InFlight), 10)
            .await
            .expect("list")
            .is_empty()
    );
}

/// After a crash, every in-flight record is queued again, due now, keeping its attempts and
/// last error, and can be claimed at once; other states are untouched.
pub async fn outbox_recover_leases_requeues_in_flight_records(store: &dyn OutboxStore) {
    assert_eq!(store.recover_leases(0).await.expect("recover"), 0);
    let got = store
        .enqueue(&[
            new("room:A", 0),
            new("room:B", 0),
            new("room:C", 0),
            new("room:D", 0),
        ])
        .await
        .map(stored)
        .expect("enqueue");
    let first = store.claim(0, 60_000, 4).await.expect("claim");
    store
        .mark_retry(&got[0], first[0].claim(), 0, "503")
        .await
        .expect("retry");
    store.mark_delivered(&got[2], 1).await.expect("delivered");
    store
        .mark_dead(&got[3], first[3].claim(), "401", 1)
        .await
        .expect("dead");
    let leased = store.claim(5, 60_000, 1).await.expect("claim");
    assert_eq!(
        (leased[0].id.as_str(), leased[0].attempts),
        (got[0].as_str(), 2)
    );

    assert_eq!(store.recover_leases(100).await.expect("recover"), 2);
    let a = one(store, &got[0]).await;
    assert_eq!(
        (a.state, a.attempts, a.next_attempt_at, a.lease_until),
        (State::Queued, 2, 100, None)
    );
    assert_eq!(a.last_error.as_deref(), Some("503"));
    let b = one(store, &got[1]).await;
    assert_eq!(
        (b.state, b.attempts, b.next_attempt_at),
        (State::Queued, 1, 100)
    );
    assert_eq!(one(store, &got[2]).await.state, State::Delivered);
    assert_eq!(one(store, &got[3]).await.state, State::Dead);

    let again = store.claim(100, 60_000, 10).await.expect("claim");
    let mut attempts: Vec<(String, i64)> =
        again.iter().map(|r| (r.id.clone(), r.attempts)).collect();
    attempts.sort();
    let mut expected = vec![(got[0].clone(), 3), (got[1].clone(), 2)];
    expected.sort();
    assert_eq!(attempts, expected, "claimable at once, attempts kept");
}

/// A record `new` with the idempotency key `key` for payload `text`.
fn keyed(key: &str, text: &str, at: Millis) -> NewRecord {
    NewRecord {
        payload: format!(r#"{{"message":"{text}"}}"#),
        idempotency: Some(IdempotencyKey {
            key: key.into(),
            fingerprint: format!("fp:{text}"),
        }),
        ..new("room:A", at)
    }
}

/// A key already stored answers with the stored id and inserts nothing, also when the key
/// appears twice in one batch; the same key with another fingerprint is a conflict; records
/// without keys are unaffected.
pub async fn outbox_idempotency_keys_store_a_message_once(store: &dyn OutboxStore) {
    let first = store
        .enqueue(&[keyed("k1", "hello", 10), new("room:B", 10)])
        .await
        .expect("enqueue");
    let Enqueued::New(id) = first[0].clone() else {
        panic!("a new key is stored: {first:?}");
    };
    assert!(first[1].is_new());

    let again = store
        .enqueue(&[
            keyed("k1", "hello", 20),
            keyed("k2", "two", 20),
            keyed("k2", "two", 20),
            keyed("k1", "changed", 20),
            new("room:B", 20),
        ])
        .await
        .expect("enqueue");
    assert_eq!(again[0], Enqueued::Existing(id.clone()));
    let Enqueued::New(k2) = again[1].clone() else {
        panic!("a new key is stored: {again:?}");
    };
    assert_eq!(
        again[2],
        Enqueued::Existing(k2.clone()),
        "twice in one batch"
    );
    assert_eq!(again[3], Enqueued::Conflict(id.clone()));
    assert!(again[4].is_new(), "no key, no deduplication");
    assert_eq!(again[3].id(), id);

    let counts = store.counts().await.expect("counts");
    assert_eq!(counts.queued, 4, "k1 once, k2 once, two without keys");
    let r = one(store, &id).await;
    assert_eq!(
        (r.payload.as_str(), r.created_at),
        (r#"{"message":"hello"}"#, 10),
        "the first payload is kept"
    );
}

/// Purging delivered records keeps the keys (a retry within the retention still finds its
/// id); `purge_idempotency_keys` forgets keys stored before its cut-off only.
pub async fn outbox_idempotency_keys_outlive_delivered_records(store: &dyn OutboxStore) {
    let old = store
        .enqueue(&[keyed("old", "a", 100)])
        .await
        .map(stored)
        .expect("enqueue");
    let young = store
        .enqueue(&[keyed("young", "b", 200)])
        .await
        .map(stored)
        .expect("enqueue");
    for r in store.claim(300, 1000, 10).await.expect("claim") {
        store.mark_delivered(&r.id, 300).await.expect("delivered");
    }
    assert_eq!(store.purge_delivered(1000).await.expect("purge"), 2);
    let retried = store
        .enqueue(&[keyed("old", "a", 400)])
        .await
        .expect("enqueue");
    assert_eq!(retried, [Enqueued::Existing(old[0].clone())]);

    assert_eq!(
        store.purge_idempotency_keys(100).await.expect("purge keys"),
        0
    );
    assert_eq!(
        store.purge_idempotency_keys(101).await.expect("purge keys"),
        1
    );
    let after = store
        .enqueue(&[keyed("old", "a", 500), keyed("young", "b", 500)])
        .await
        .expect("enqueue");
    assert!(
        after[0].is_new(),
        "a forgotten key stores the message again"
    );
    assert_eq!(after[1], Enqueued::Existing(young[0].clone()));
}

/// A working store is healthy (and says so again at once, from its cache), reports its size,
/// and compacts without losing anything.
pub async fn outbox_health_size_and_compact(store: &dyn OutboxStore) {
    let first = store.health().await.expect("a fresh store is healthy");
    store.health().await.expect("still healthy");
    let got = store
        .enqueue(&[new("room:A", 0), new("room:B", 0)])
        .await
        .map(stored)
        .expect("enqueue");
    assert!(store.size_bytes().await.expect("size") > 0);
    store.compact().await.expect("compact");
    assert_eq!(one(store, &got[1]).await.destination, "room:B");
    assert!(store.health().await.expect("healthy").checked_at >= first.checked_at);
}

/// Records for other destinations than rooms and users (HTTP pushes, messages through a
/// reporter's own token) are stored byte for byte: a multi-kilobyte payload with escapes,
/// non-ASCII text and Python's spacing comes back exactly, through claim, dead letter (with
/// its reason) and requeue.
pub async fn outbox_other_destinations_round_trip_byte_exact(store: &dyn OutboxStore) {
    let body = format!(
        r#"{{"builder": {{"name": "Bau \u00e9t\u00e9 – ü"}}, "state_string": "tab\tquote\" back\\", "log": "{}"}}"#,
        "x".repeat(6000)
    );
    let payload = serde_json::json!({
        "via": "http-1",
        "item": {"http": {"url": "https://x.example/hook", "headers": [["Content-Type", "application/json"]], "body": body}},
    })
    .to_string();
    let destination = "https://x.example/hook via http-1";
    let got = store
        .enqueue(&[NewRecord {
            destination: destination.into(),
            payload: payload.clone(),
            created_at: 7,
            idempotency: None,
            lane: None,
        }])
        .await
        .map(stored)
        .expect("enqueue");
    let claimed = store.claim(7, 1000, 1).await.expect("claim");
    assert_eq!(claimed[0].payload, payload, "claimed byte for byte");
    assert_eq!(claimed[0].destination, destination);
    let reason = "cannot deliver through `http-1`: no reporter of this name is configured";
    store
        .mark_dead(&got[0], claimed[0].claim(), reason, 8)
        .await
        .expect("dead");
    let dead = store.list(Some(State::Dead), 10).await.expect("list");
    assert_eq!(
        (dead[0].destination.as_str(), dead[0].last_error.as_deref()),
        (destination, Some(reason))
    );
    assert_eq!(dead[0].payload, payload);
    assert_eq!(
        store.requeue(&got[0], 9, false).await.expect("requeue"),
        Requeue::Requeued
    );
    assert_eq!(one(store, &got[0]).await.payload, payload);
}

/// A record for `dest` in `lane`, created (and first due) at `at`.
fn laned(dest: &str, lane: &str, at: Millis) -> NewRecord {
    NewRecord {
        lane: Some(lane.into()),
        ..new(dest, at)
    }
}

/// Claims at `now` (lease 1000) and returns the ids claimed.
async fn claim_ids(store: &dyn OutboxStore, now: Millis) -> Vec<String> {
    let claimed = store.claim(now, 1000, 100).await.expect("claim");
    claimed.into_iter().map(|r| r.id).collect()
}

/// A lane's records are handed out one at a time in enqueue order (also within one batch
/// and with equal creation times); a record waiting for its retry blocks the lane, and
/// `next_due` waits for it rather than for the records behind it.
pub async fn outbox_lane_keeps_order_through_a_retry(store: &dyn OutboxStore) {
    let batch = [laned("room:A", "room:A", 10), laned("room:A", "room:A", 10)];
    let mut lane = store.enqueue(&batch).await.map(stored).expect("enqueue");
    lane.extend(
        store
            .enqueue(&[laned("room:A", "room:A", 10)])
            .await
            .map(stored)
            .expect("enqueue"),
    );
    assert_eq!(one(store, &lane[0]).await.lane.as_deref(), Some("room:A"));
    assert_eq!(store.next_due().await.expect("next due"), Some(10));

    assert_eq!(
        claim_ids(store, 100).await,
        [lane[0].clone()],
        "the first only"
    );
    assert!(
        claim_ids(store, 101).await.is_empty(),
        "blocked while in flight"
    );
    let claim = one(store, &lane[0]).await.claim();
    store
        .mark_retry(&lane[0], claim, 500, "503 Service Unavailable")
        .await
        .expect("retry");
    assert!(
        claim_ids(store, 200).await.is_empty(),
        "a record waiting for its retry blocks its lane"
    );
    assert_eq!(store.next_due().await.expect("next due"), Some(500));
    assert_eq!(store.counts().await.expect("counts").queued, 3);

    assert_eq!(claim_ids(store, 500).await, [lane[0].clone()]);
    assert_eq!(one(store, &lane[0]).await.attempts, 2);
    store
        .mark_delivered(&lane[0], 510)
        .await
        .expect("delivered");
    assert_eq!(claim_ids(store, 520).await, [lane[1].clone()]);
    store
        .mark_delivered(&lane[1], 530)
        .await
        .expect("delivered");
    assert_eq!(claim_ids(store, 540).await, [lane[2].clone()]);
    store
        .mark_delivered(&lane[2], 550)
        .await
        .expect("delivered");
    assert!(claim_ids(store, 560).await.is_empty());
    assert_eq!(store.next_due().await.expect("next due"), None);
}

/// Different lanes, and records without a lane, are handed out side by side; each lane
/// still one record at a time.
pub async fn outbox_lanes_go_in_parallel(store: &dyn OutboxStore) {
    let got = store
        .enqueue(&[
            laned("room:A", "a", 10),
            laned("user:@bob", "b", 11),
            laned("room:A", "a", 12),
            new("room:A", 13),
            laned("user:@bob", "b", 14),
            new("room:A", 15),
        ])
        .await
        .map(stored)
        .expect("enqueue");
    let (a1, b1, a2, u1, b2, u2) = (&got[0], &got[1], &got[2], &got[3], &got[4], &got[5]);
    let mut first = claim_ids(store, 100).await;
    first.sort();
    let mut expected = vec![a1.clone(), b1.clone(), u1.clone(), u2.clone()];
    expected.sort();
    assert_eq!(
        first, expected,
        "each lane's first record, and every record without one"
    );
    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.queued, counts.in_flight), (2, 4));

    store.mark_delivered(b1, 110).await.expect("delivered");
    assert_eq!(
        claim_ids(store, 120).await,
        [b2.as_str()],
        "lane b moves on alone"
    );
    store.mark_delivered(a1, 130).await.expect("delivered");
    assert_eq!(claim_ids(store, 140).await, [a2.as_str()]);
}

/// Dead-lettering a lane's record unblocks the lane (the order guarantee is "delivered or
/// dead"); queueing the dead record again blocks what is still queued behind it.
pub async fn outbox_dead_letter_unblocks_its_lane(store: &dyn OutboxStore) {
    let got = store
        .enqueue(&[
            laned("room:A", "L", 10),
            laned("room:A", "L", 11),
            laned("room:A", "L", 12),
        ])
        .await
        .map(stored)
        .expect("enqueue");
    assert_eq!(claim_ids(store, 100).await, [got[0].clone()]);
    let claim = one(store, &got[0]).await.claim();
    store
        .mark_dead(&got[0], claim, "400 Bad Request", 110)
        .await
        .expect("dead");
    assert_eq!(claim_ids(store, 120).await, [got[1].clone()]);
    store.mark_delivered(&got[1], 130).await.expect("delivered");
    assert_eq!(
        store.requeue(&got[0], 140, false).await.expect("requeue"),
        Requeue::Requeued
    );
    assert_eq!(
        claim_ids(store, 150).await,
        [got[0].clone()],
        "queued again, it is the lane's first record again"
    );
    store.mark_delivered(&got[0], 160).await.expect("delivered");
    assert_eq!(claim_ids(store, 170).await, [got[2].clone()]);
}

/// An expired lease is claimed again before anything behind it in its lane.
pub async fn outbox_expired_lease_reclaim_keeps_lane_order(store: &dyn OutboxStore) {
    let got = store
        .enqueue(&[laned("room:A", "L", 10), laned("room:A", "L", 11)])
        .await
        .map(stored)
        .expect("enqueue");
    assert_eq!(claim_ids(store, 100).await, [got[0].clone()]);
    assert!(claim_ids(store, 1099).await.is_empty(), "leased until 1100");
    assert_eq!(store.next_due().await.expect("next due"), Some(1100));
    let again = store.claim(1100, 1000, 100).await.expect("claim");
    assert_eq!(
        ids(&again),
        [got[0].as_str()],
        "the expired lease, not the next"
    );
    assert_eq!(again[0].attempts, 2);
    store
        .mark_delivered(&got[0], 1200)
        .await
        .expect("delivered");
    assert_eq!(claim_ids(store, 1300).await, [got[1].clone()]);
}

/// A claim smaller than what is due takes the earliest due first, whether in a lane or not
/// (neither a backlog without lanes nor a lane waits behind the other).
pub async fn outbox_claim_takes_the_earliest_due_across_lanes(store: &dyn OutboxStore) {
    let got = store
        .enqueue(&[
            new("room:A", 30),
            laned("room:B", "b", 10),
            new("room:A", 40),
            laned("room:C", "c", 20),
            laned("room:C", "c", 5),
        ])
        .await
        .map(stored)
        .expect("enqueue");
    let first = store.claim(100, 1000, 2).await.expect("claim");
    assert_eq!(
        ids(&first),
        [got[1].as_str(), got[3].as_str()],
        "lane b's and lane c's first records (c's second waits for its first)"
    );
    assert_eq!(
        claim_ids(store, 100).await,
        [got[0].clone(), got[2].clone()]
    );
}
