//! PostgreSQL-specific behaviour: passwords never shown, replicas starting together,
//! claiming together and sharing idempotency keys, and each taking back only its own leases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_store::contract::postgres::{fresh_database, server_url};
use hipkit_store::{
    DatabaseUrl, Enqueued, IdempotencyKey, NewRecord, OutboxStore, PostgresStore, State,
    StoreConfig,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

fn new(dest: &str, key: Option<&str>) -> NewRecord {
    NewRecord {
        destination: dest.into(),
        payload: r#"{"message":"x"}"#.into(),
        created_at: 1,
        idempotency: key.map(|k| IdempotencyKey {
            key: k.into(),
            fingerprint: "f".into(),
        }),
        lane: None,
    }
}

/// The test server's URL with its password replaced by `password`.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user_info, host) = rest.rsplit_once('@').expect("the test URL names a user");
    let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test]
async fn a_refused_password_and_an_unreachable_server_never_show_the_password() {
    let secret = "n0t-the-Passw0rd-7f3a";
    let refused = DatabaseUrl::new(with_password(&server_url(), secret));
    // A free port on loopback nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = DatabaseUrl::new(format!("postgres://hipkit:{secret}@127.0.0.1:{port}/db"));
    for url in [refused, unreachable] {
        let err = PostgresStore::open(&url, "r").await.expect_err("refused");
        let shown = format!("{err} | {err:?} | {url:?} | {url}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(
            shown.contains("***"),
            "the URL is named, password hidden: {shown}"
        );
        let config = StoreConfig {
            url: Some(url.clone()),
            ..StoreConfig::default()
        };
        let err = config.open_exclusive().await.expect_err("refused");
        let shown = format!("{err} | {err:?} | {config:?}");
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let url = fresh_database().await;
    let opens = (0..6).map(|i| {
        let url = url.clone();
        tokio::spawn(async move { PostgresStore::open(&url, &format!("r{i}")).await })
    });
    for open in opens.collect::<Vec<_>>() {
        let store = open.await.unwrap().expect("every replica opens");
        assert_eq!(store.counts().await.unwrap().queued, 0);
    }
}

#[tokio::test]
async fn replicas_claiming_together_take_disjoint_records() {
    let url = fresh_database().await;
    let a = PostgresStore::open(&url, "a").await.unwrap();
    let b = PostgresStore::open(&url, "b").await.unwrap();
    let batch: Vec<NewRecord> = (0..400).map(|i| new(&format!("room:{i}"), None)).collect();
    a.enqueue(&batch).await.unwrap();
    let mut seen = HashSet::new();
    loop {
        let (x, y) = tokio::join!(a.claim(10, 60_000, 7), b.claim(10, 60_000, 7));
        let (x, y) = (x.unwrap(), y.unwrap());
        if x.is_empty() && y.is_empty() {
            break;
        }
        for r in x.iter().chain(&y) {
            assert!(seen.insert(r.id.clone()), "{} claimed twice", r.id);
            assert_eq!(r.attempts, 1);
        }
    }
    assert_eq!(seen.len(), 400);
}

#[tokio::test]
async fn one_idempotency_key_sent_to_two_replicas_is_one_record() {
    let url = fresh_database().await;
    let a = PostgresStore::open(&url, "a").await.unwrap();
    let b = PostgresStore::open(&url, "b").await.unwrap();
    for round in 0..20 {
        let key = format!("key-{round}");
        let one = [new("room:A", Some(&key))];
        let (x, y) = tokio::join!(a.enqueue(&one), b.enqueue(&one));
        let (x, y) = (x.unwrap(), y.unwrap());
        let new_ones = [&x[0], &y[0]].iter().filter(|e| e.is_new()).count();
        assert_eq!(new_ones, 1, "round {round}: {x:?} {y:?}");
        assert_eq!(x[0].id(), y[0].id());
        assert!(matches!(x[0], Enqueued::New(_) | Enqueued::Existing(_)));
    }
    assert_eq!(a.counts().await.unwrap().queued, 20);
}

#[tokio::test]
async fn a_restarting_replica_takes_back_its_own_leases_only() {
    let url = fresh_database().await;
    let a = PostgresStore::open(&url, "a").await.unwrap();
    let b = PostgresStore::open(&url, "b").await.unwrap();
    a.enqueue(&[new("room:A", None), new("room:B", None)])
        .await
        .unwrap();
    let mine = a.claim(10, 60_000, 1).await.unwrap();
    let theirs = b.claim(10, 60_000, 1).await.unwrap();
    drop(a);
    let a_again = PostgresStore::open(&url, "a").await.unwrap();
    assert_eq!(a_again.recover_leases(20).await.unwrap(), 1);
    let get = |id: String| {
        let store = a_again.clone();
        async move { store.get(&id).await.unwrap().unwrap().state }
    };
    assert_eq!(get(mine[0].id.clone()).await, State::Queued);
    assert_eq!(get(theirs[0].id.clone()).await, State::InFlight);
}

#[tokio::test]
async fn an_enqueue_on_one_replica_wakes_the_idle_others() {
    let url = fresh_database().await;
    let a = PostgresStore::open(&url, "a").await.unwrap();
    let b = PostgresStore::open(&url, "b").await.unwrap();
    let wake = Arc::new(Notify::new());
    b.wake_on_enqueue(&wake);
    // b's listener starts in the background: enqueue again until it has heard one (a
    // store that never wakes fails after the overall bound).
    let woken = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            a.enqueue(&[new("room:A", None)]).await.unwrap();
            let heard = tokio::time::timeout(Duration::from_millis(250), wake.notified());
            if heard.await.is_ok() {
                break;
            }
        }
    })
    .await;
    assert!(woken.is_ok(), "b was never woken by a's enqueue");
}

#[tokio::test]
async fn replicas_claiming_together_hand_out_each_lane_one_at_a_time_in_order() {
    let url = fresh_database().await;
    let a = PostgresStore::open(&url, "a").await.unwrap();
    let b = PostgresStore::open(&url, "b").await.unwrap();
    let lanes = 8;
    let batch: Vec<NewRecord> = (0..15 * lanes)
        .map(|i| NewRecord {
            lane: Some(format!("room:{}", i % lanes)),
            ..new(&format!("room:{}", i % lanes), None)
        })
        .collect();
    let ids: Vec<String> = a
        .enqueue(&batch)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id().to_owned())
        .collect();
    let mut handed: std::collections::HashMap<String, Vec<String>> = Default::default();
    loop {
        let (x, y) = tokio::join!(a.claim(10, 60_000, 5), b.claim(10, 60_000, 5));
        let claimed: Vec<_> = x.unwrap().into_iter().chain(y.unwrap()).collect();
        if claimed.is_empty() {
            break;
        }
        let mut lanes_now = HashSet::new();
        for r in &claimed {
            let lane = r.lane.clone().expect("laned");
            assert!(
                lanes_now.insert(lane.clone()),
                "two of {lane} in flight at once"
            );
            handed.entry(lane).or_default().push(r.id.clone());
            a.mark_delivered(&r.id, 20).await.unwrap();
        }
    }
    for lane in 0..lanes {
        let expected: Vec<String> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % lanes == lane)
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(
            handed[&format!("room:{lane}")],
            expected,
            "lane {lane} in order"
        );
    }
}
