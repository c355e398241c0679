//! [`LastBuildStore`] scenarios.

use crate::{LastBuild, LastBuildStore};

fn build(build_number: i64, result: i64) -> LastBuild {
    LastBuild {
        build_number,
        result,
        at: 1000 + build_number,
    }
}

/// `put_last` stores the build and returns the one it replaced (none the first time).
pub async fn last_build_put_swaps_and_returns_the_previous(store: &dyn LastBuildStore) {
    assert_eq!(store.get_last("rep", "linux").await.expect("get"), None);
    assert_eq!(
        store
            .put_last("rep", "linux", &build(1, 0))
            .await
            .expect("put"),
        None
    );
    assert_eq!(
        store.get_last("rep", "linux").await.expect("get"),
        Some(build(1, 0))
    );
    assert_eq!(
        store
            .put_last("rep", "linux", &build(2, 2))
            .await
            .expect("put"),
        Some(build(1, 0))
    );
    assert_eq!(
        store
            .put_last("rep", "linux", &build(3, 6))
            .await
            .expect("put"),
        Some(build(2, 2))
    );
    assert_eq!(
        store.get_last("rep", "linux").await.expect("get"),
        Some(build(3, 6))
    );
}

/// Each (scope, builder) pair has its own memory.
pub async fn last_build_scopes_and_builders_are_independent(store: &dyn LastBuildStore) {
    store
        .put_last("a", "linux", &build(1, 0))
        .await
        .expect("put");
    store.put_last("a", "mac", &build(7, 2)).await.expect("put");
    assert_eq!(
        store
            .put_last("b", "linux", &build(5, 4))
            .await
            .expect("put"),
        None
    );
    assert_eq!(
        store.get_last("a", "linux").await.expect("get"),
        Some(build(1, 0))
    );
    assert_eq!(
        store.get_last("a", "mac").await.expect("get"),
        Some(build(7, 2))
    );
    assert_eq!(
        store.get_last("b", "linux").await.expect("get"),
        Some(build(5, 4))
    );
    assert_eq!(store.get_last("b", "mac").await.expect("get"), None);
    assert_eq!(
        store.get_last("a", "Linux").await.expect("get"),
        None,
        "case-sensitive"
    );
}

/// Concurrent swaps on one builder are serialised: each sees a different previous value,
/// exactly one sees none, and the survivors chain into the final value.
pub async fn last_build_concurrent_swaps_see_distinct_previous_values(store: &dyn LastBuildStore) {
    let (b1, b2, b3, b4) = (build(1, 0), build(2, 1), build(3, 2), build(4, 0));
    let swaps = tokio::join!(
        store.put_last("rep", "linux", &b1),
        store.put_last("rep", "linux", &b2),
        store.put_last("rep", "linux", &b3),
        store.put_last("rep", "linux", &b4),
    );
    let previous = [
        swaps.0.expect("put"),
        swaps.1.expect("put"),
        swaps.2.expect("put"),
        swaps.3.expect("put"),
    ];
    let last = store
        .get_last("rep", "linux")
        .await
        .expect("get")
        .expect("a last build");
    let mut seen: Vec<i64> = previous.iter().flatten().map(|b| b.build_number).collect();
    assert_eq!(
        previous.iter().filter(|p| p.is_none()).count(),
        1,
        "{previous:?}"
    );
    seen.push(last.build_number);
    seen.sort();
    assert_eq!(
        seen,
        [1, 2, 3, 4],
        "every build is seen exactly once: {previous:?}"
    );
}
