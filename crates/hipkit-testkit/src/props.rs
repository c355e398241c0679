//! Strategies shared by the property tests of the parsers of outside input.

use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON two levels deep: scalars (digit strings among them), arrays and objects;
/// with `long` > 0 also strings of up to `long` characters of HTML specials, for the limits.
pub fn json_value(long: usize) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{0,25}".prop_map(Value::String),
        ".{0,30}".prop_map(Value::String),
        (0..=long).prop_map(|n| Value::String("<b>&".repeat(n / 4))),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// `base` as JSON bytes with `changes` of its fields (each a JSON pointer from `pointers`)
/// replaced by arbitrary JSON or removed.
pub fn mutated(
    base: Value,
    pointers: Vec<&'static str>,
    changes: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<u8>> {
    let change = (
        prop::sample::select(pointers),
        proptest::option::of(json_value(12_000)),
    );
    prop::collection::vec(change, changes)
        .prop_map(move |changes| {
            let mut value = base.clone();
            for (pointer, replacement) in changes {
                let Some((parent, key)) = pointer.rsplit_once('/') else {
                    continue;
                };
                if let Some(Value::Object(map)) = value.pointer_mut(parent) {
                    match replacement {
                        Some(v) => map.insert(key.to_owned(), v),
                        None => map.remove(key),
                    };
                }
            }
            serde_json::to_vec(&value).unwrap_or_default()
        })
        .boxed()
}
