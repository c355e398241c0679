//! [`KvStore`] scenarios.

use crate::{KvStore, MAX_KEY_BYTES, NamespaceSummary, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// `get` sees what `put` stored; a second `put` replaces it; keys and namespaces are
/// separate.
pub async fn kv_get_put_overwrite(store: &dyn KvStore) {
    assert_eq!(store.get("ns", "k").await.expect("get"), None);
    store.put("ns", "k", &json!({"n": 1})).await.expect("put");
    assert_eq!(
        store.get("ns", "k").await.expect("get"),
        Some(json!({"n": 1}))
    );
    store
        .put("ns", "k", &json!([1, "two", null, true, 1.5]))
        .await
        .expect("put");
    assert_eq!(
        store.get("ns", "k").await.expect("get"),
        Some(json!([1, "two", null, true, 1.5]))
    );
    store.put("ns", "null", &Value::Null).await.expect("put");
    assert_eq!(
        store.get("ns", "null").await.expect("get"),
        Some(Value::Null),
        "null is a value"
    );
    assert_eq!(store.get("other", "k").await.expect("get"), None);
    assert_eq!(
        store.get("ns", "K").await.expect("get"),
        None,
        "keys are case-sensitive"
    );
}

/// `delete` removes one key and says whether it was there.
pub async fn kv_delete_reports_whether_the_key_existed(store: &dyn KvStore) {
    store.put("ns", "a", &json!(1)).await.expect("put");
    store.put("ns", "b", &json!(2)).await.expect("put");
    assert!(store.delete("ns", "a").await.expect("delete"));
    assert!(!store.delete("ns", "a").await.expect("delete"));
    assert!(!store.delete("other", "b").await.expect("delete"));
    assert_eq!(store.get("ns", "a").await.expect("get"), None);
    assert_eq!(store.get("ns", "b").await.expect("get"), Some(json!(2)));
}

/// `list` returns one namespace's keys sorted by their UTF-8 bytes (Rust's `str` order).
pub async fn kv_list_is_sorted_by_key(store: &dyn KvStore) {
    let keys = [
        "zeta", "Alpha", "alpha", "é", "日本", "😀", "a b", "10", "9", "_",
    ];
    for key in keys {
        store.put("ns", key, &json!(key)).await.expect("put");
    }
    store.put("elsewhere", "0", &json!(0)).await.expect("put");
    let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    sorted.sort();
    assert_eq!(store.list("ns").await.expect("list"), sorted);
    assert!(store.list("empty").await.expect("list").is_empty());
}

/// `export` returns every pair; `import` with `replace` makes the namespace exactly the
/// given pairs, without it merges them over what is there.
pub async fn kv_export_and_import_replace_or_merge(store: &dyn KvStore) {
    store.put("ns", "keep", &json!("old")).await.expect("put");
    store.put("ns", "shared", &json!("old")).await.expect("put");
    store.put("other", "x", &json!(1)).await.expect("put");
    let incoming = map(&[("shared", json!("new")), ("added", json!({"deep": [1, 2]}))]);

    assert_eq!(
        store.import("ns", &incoming, false).await.expect("merge"),
        2
    );
    let merged = map(&[
        ("added", json!({"deep": [1, 2]})),
        ("keep", json!("old")),
        ("shared", json!("new")),
    ]);
    assert_eq!(store.export("ns").await.expect("export"), merged);

    assert_eq!(
        store.import("ns", &incoming, true).await.expect("replace"),
        2
    );
    assert_eq!(store.export("ns").await.expect("export"), incoming);
    assert_eq!(
        store.export("other").await.expect("export"),
        map(&[("x", json!(1))])
    );

    let copy = store.export("ns").await.expect("export");
    store.import("copy", &copy, true).await.expect("import");
    assert_eq!(
        store.export("copy").await.expect("export"),
        copy,
        "export round-trips"
    );
    assert_eq!(
        store
            .import("ns", &BTreeMap::new(), true)
            .await
            .expect("replace"),
        0
    );
    assert!(
        store.export("ns").await.expect("export").is_empty(),
        "replace with nothing"
    );
}

/// `erase` empties one namespace and reports how many keys it removed; `namespaces` lists
/// the namespaces that hold keys, with their counts.
pub async fn kv_erase_touches_one_namespace_only(store: &dyn KvStore) {
    for (ns, key) in [("a", "1"), ("a", "2"), ("b", "1"), ("c", "1")] {
        store.put(ns, key, &json!(key)).await.expect("put");
    }
    let summary = |name: &str, keys| NamespaceSummary {
        name: name.into(),
        keys,
    };
    assert_eq!(
        store.namespaces().await.expect("namespaces"),
        [summary("a", 2), summary("b", 1), summary("c", 1)]
    );
    assert_eq!(store.erase("a").await.expect("erase"), 2);
    assert_eq!(store.erase("a").await.expect("erase"), 0);
    assert!(store.list("a").await.expect("list").is_empty());
    assert_eq!(store.get("b", "1").await.expect("get"), Some(json!("1")));
    assert_eq!(
        store.namespaces().await.expect("namespaces"),
        [summary("b", 1), summary("c", 1)]
    );
}

/// Unicode namespaces, keys and values, and values of a megabyte, come back unchanged.
pub async fn kv_unicode_keys_and_large_values_round_trip(store: &dyn KvStore) {
    let big = json!({
        "text": "x".repeat(1 << 20),
        "list": (0..10_000).collect::<Vec<i64>>(),
        "nested": {"a": {"b": {"c": [{"d": "ünïcödé ✓ 😀"}]}}},
    });
    store.put("интеграция", "ключ 😀", &big).await.expect("put");
    assert_eq!(
        store.get("интеграция", "ключ 😀").await.expect("get"),
        Some(big.clone())
    );
    assert_eq!(store.list("интеграция").await.expect("list"), ["ключ 😀"]);
    let quotes = "it's \"quoted\" ; DROP TABLE kv; --";
    store
        .put(quotes, quotes, &json!(quotes))
        .await
        .expect("put");
    assert_eq!(
        store.get(quotes, quotes).await.expect("get"),
        Some(json!(quotes))
    );
    let longest = "k".repeat(MAX_KEY_BYTES);
    store
        .put("ns", &longest, &json!(1))
        .await
        .expect("the longest key fits");
    assert_eq!(
        store.get("ns", &longest).await.expect("get"),
        Some(json!(1))
    );
}

/// An import that fails part-way (here: its last key, in key order, is too long) leaves
/// the namespace exactly as it was, whether replacing or merging.
pub async fn kv_failed_import_writes_nothing(store: &dyn KvStore) {
    store.put("ns", "keep", &json!("old")).await.expect("put");
    let before = store.export("ns").await.expect("export");
    let mut incoming = map(&[("a", json!(1)), ("keep", json!("new"))]);
    incoming.insert("z".repeat(MAX_KEY_BYTES + 1), json!(3));
    for replace in [true, false] {
        let err = store
            .import("ns", &incoming, replace)
            .await
            .expect_err("import fails");
        assert!(
            matches!(err, StoreError::InvalidKey { what: "key", .. }),
            "{err}"
        );
        assert_eq!(
            store.export("ns").await.expect("export"),
            before,
            "replace: {replace}"
        );
    }
}

/// `apply` sets and removes keys of one namespace in one go, leaves other keys and
/// namespaces alone, and writes nothing when one key is invalid.
pub async fn kv_apply_sets_and_removes_all_or_nothing(store: &dyn KvStore) {
    store.put("ns", "gone", &json!(1)).await.expect("put");
    store.put("ns", "kept", &json!(2)).await.expect("put");
    store.put("other", "gone", &json!(3)).await.expect("put");
    // Enough keys for several statements in backends that split them.
    let mut changes: BTreeMap<String, Option<Value>> = (0..600)
        .map(|i| (format!("#{i}"), Some(json!({ "n": i }))))
        .collect();
    changes.insert("gone".into(), None);
    changes.insert("never-there".into(), None);
    changes.insert("kept".into(), Some(json!("new")));
    store.apply("ns", &changes).await.expect("apply");
    let after = store.export("ns").await.expect("export");
    assert_eq!(after.len(), 601, "600 new keys and `kept`");
    assert_eq!(after["kept"], json!("new"));
    assert_eq!(after["#599"], json!({ "n": 599 }));
    assert!(!after.contains_key("gone"));
    assert_eq!(
        store.get("other", "gone").await.expect("get"),
        Some(json!(3))
    );

    let mut bad: BTreeMap<String, Option<Value>> =
        BTreeMap::from([("kept".into(), None), ("fresh".into(), Some(json!(1)))]);
    bad.insert("z".repeat(MAX_KEY_BYTES + 1), Some(json!(1)));
    let err = store.apply("ns", &bad).await.expect_err("refused");
    assert!(
        matches!(err, StoreError::InvalidKey { what: "key", .. }),
        "{err}"
    );
    assert_eq!(store.export("ns").await.expect("export"), after);
    store
        .apply("ns", &BTreeMap::new())
        .await
        .expect("nothing to apply");
}

/// Empty or overlong namespaces and keys are refused with [`StoreError::InvalidKey`].
pub async fn kv_rejects_empty_and_overlong_keys(store: &dyn KvStore) {
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    for (ns, key) in [
        ("", "k"),
        ("ns", ""),
        ("ns", long.as_str()),
        (long.as_str(), "k"),
    ] {
        let err = store.put(ns, key, &json!(1)).await.expect_err("refused");
        assert!(matches!(err, StoreError::InvalidKey { .. }), "{err}");
    }
    assert!(store.namespaces().await.expect("namespaces").is_empty());
}
