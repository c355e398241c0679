//! Storage quotas: per integration, a total size (each key plus its value's compact JSON, in
//! bytes) and a key count. The Python host refuses an assignment that would exceed them at
//! once (`StorageQuotaExceeded`, which the script can catch); here, when a call's changes are
//! saved, is the authority: a call that would take its storage over the quota has its
//! changes refused and fails with [`QuotaExceeded`]. Calls that do not grow the storage are
//! never refused, so lowering a quota does not lock an integration out of its own data.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// A per-integration storage quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Quota {
    /// Most bytes (keys plus their values' compact JSON) one integration may store.
    pub max_bytes: u64,
    /// Most keys one integration may store.
    pub max_keys: u64,
}

/// A call's storage changes would take its integration over its quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "storage quota exceeded: its storage would hold {} in {keys} keys, over the quota of {} \
     and {} keys ([integrations] storage_max_bytes and storage_max_keys)",
    mib(*bytes), mib(quota.max_bytes), quota.max_keys
)]
pub struct QuotaExceeded {
    /// The size the storage would have had.
    pub bytes: u64,
    /// The keys it would have held.
    pub keys: u64,
    /// The quota.
    pub quota: Quota,
}

/// `n` bytes for people: bytes under a MiB, else MiB with one decimal.
fn mib(n: u64) -> String {
    if n < 1 << 20 {
        return format!("{n} bytes");
    }
    #[allow(clippy::cast_precision_loss, reason = "shown rounded")]
    let m = n as f64 / f64::from(1u32 << 20);
    format!("{m:.1} MiB")
}

/// Counts what is written to it.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `key` and `value` take against the quota: the key's bytes plus the value's compact
/// JSON, measured without building it.
pub(crate) fn entry_size(key: &str, value: &Value) -> u64 {
    let mut counter = Counter(0);
    // Writing a `Value` to a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    key.len() as u64 + counter.0
}

/// What one integration's storage holds: each key's size and the total.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    sizes: HashMap<String, u64>,
    bytes: u64,
}

impl Usage {
    /// Records `key` (stored at start) with its size.
    pub(crate) fn insert(&mut self, key: String, size: u64) {
        self.bytes += size;
        if let Some(old) = self.sizes.insert(key, size) {
            self.bytes -= old;
        }
    }

    fn keys(&self) -> u64 {
        self.sizes.len() as u64
    }
}

/// Changes admitted but not yet saved, on top of a [`Usage`].
#[derive(Debug, Default)]
pub(crate) struct Pending {
    sizes: BTreeMap<String, Option<u64>>,
    bytes: i128,
    keys: i128,
}

impl Pending {
    fn size(&self, base: &Usage, key: &str) -> Option<u64> {
        match self.sizes.get(key) {
            Some(pending) => *pending,
            None => base.sizes.get(key).copied(),
        }
    }

    /// Admits one call's changes if they keep the storage within `quota` (or do not grow
    /// it); otherwise they are left out and the refusal says what the storage would hold.
    pub(crate) fn admit(
        &mut self,
        base: &Usage,
        quota: Quota,
        set: &BTreeMap<String, Value>,
        del: &[String],
    ) -> Result<(), QuotaExceeded> {
        let mut sizes: BTreeMap<&str, Option<u64>> = BTreeMap::new();
        let (mut bytes, mut keys) = (0i128, 0i128);
        let changes = set
            .iter()
            .map(|(key, value)| (key.as_str(), Some(entry_size(key, value))))
            .chain(del.iter().map(|key| (key.as_str(), None)));
        for (key, new) in changes {
            let old = sizes
                .get(key)
                .copied()
                .unwrap_or_else(|| self.size(base, key));
            bytes += i128::from(new.unwrap_or(0)) - i128::from(old.unwrap_or(0));
            keys += i128::from(new.is_some()) - i128::from(old.is_some());
            sizes.insert(key, new);
        }
        let total_bytes = i128::from(base.bytes) + self.bytes + bytes;
        let total_keys = i128::from(base.keys()) + self.keys + keys;
        let over = (bytes > 0 && total_bytes > i128::from(quota.max_bytes))
            || (keys > 0 && total_keys > i128::from(quota.max_keys));
        if over {
            return Err(QuotaExceeded {
                bytes: u64::try_from(total_bytes).unwrap_or(0),
                keys: u64::try_from(total_keys).unwrap_or(0),
                quota,
            });
        }
        self.bytes += bytes;
        self.keys += keys;
        self.sizes
            .extend(sizes.into_iter().map(|(k, v)| (k.to_owned(), v)));
        Ok(())
    }

    /// Applies the admitted changes to `base`, once they are saved.
    pub(crate) fn commit(self, base: &mut Usage) {
        for (key, size) in self.sizes {
            match size {
                Some(size) => base.insert(key, size),
                None => {
                    if let Some(old) = base.sizes.remove(&key) {
                        base.bytes -= old;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_that_grow_past_the_quota_are_refused_others_admitted() {
        let quota = Quota {
            max_bytes: 20,
            max_keys: 2,
        };
        let mut base = Usage::default();
        base.insert("a".into(), entry_size("a", &json!("12345")));
        assert_eq!(base.bytes, 8);
        let mut pending = Pending::default();
        let set = |k: &str, v: Value| BTreeMap::from([(k.to_owned(), v)]);
        pending
            .admit(&base, quota, &set("b", json!(1)), &[])
            .unwrap();
        let over = pending
            .admit(&base, quota, &set("c", json!(1)), &[])
            .unwrap_err();
        assert_eq!((over.keys, over.quota.max_keys), (3, 2));
        assert!(over.to_string().contains("storage_max_keys"), "{over}");
        let big = pending
            .admit(&base, quota, &set("a", json!("x".repeat(30))), &[])
            .unwrap_err();
        assert_eq!(big.bytes, 2 + 33);
        // Replacing a value by a smaller one, and deleting, always pass.
        pending
            .admit(&base, quota, &set("a", json!("1")), &["b".to_owned()])
            .unwrap();
        pending.commit(&mut base);
        assert_eq!((base.bytes, base.keys()), (4, 1));
    }
}
