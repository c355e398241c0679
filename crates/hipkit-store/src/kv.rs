//! Key-value storage for slash-command integrations: JSON values under (namespace, key).

use crate::StoreError;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;

/// Longest namespace or key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;

/// A namespace and how many keys it holds (for an admin page).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NamespaceSummary {
    /// The namespace (usually an integration's name).
    pub name: String,
    /// Keys stored in it.
    pub keys: u64,
}

/// Reads a stored JSON text back (every backend stores values as JSON text).
pub(crate) fn parse_value(namespace: &str, key: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::CorruptValue {
        namespace: namespace.to_owned(),
        key: key.to_owned(),
        source,
    })
}

/// A namespace's exported (key, JSON text) rows as its entries.
pub(crate) fn parse_entries(
    namespace: &str,
    rows: Vec<(String, String)>,
) -> Result<BTreeMap<String, Value>, StoreError> {
    rows.into_iter()
        .map(|(key, text)| {
            let value = parse_value(namespace, &key, &text)?;
            Ok((key, value))
        })
        .collect()
}

/// Checks a namespace or key against the storage rules: non-empty, at most
/// [`MAX_KEY_BYTES`]. Every backend applies it, inside the transaction of the call.
pub fn check_key(what: &'static str, value: &str) -> Result<(), StoreError> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > MAX_KEY_BYTES {
        "is longer than 512 bytes"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidKey {
        what,
        value: value.chars().take(64).collect(),
        reason,
    })
}

/// JSON values per (namespace, key). Every call is atomic (one transaction). Keys sort by
/// their UTF-8 bytes (Rust's `str` order), in every backend.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// The value under `key`, if any.
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StoreError>;

    /// Stores `value` under `key`, replacing any previous value.
    async fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), StoreError>;

    /// Removes `key`; returns whether it existed.
    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError>;

    /// The namespace's keys, sorted.
    async fn list(&self, namespace: &str) -> Result<Vec<String>, StoreError>;

    /// Every key and value of the namespace (sorted by key).
    async fn export(&self, namespace: &str) -> Result<BTreeMap<String, Value>, StoreError>;

    /// Writes every pair into the namespace, all or nothing; with `replace`, keys not in
    /// `pairs` are removed first, otherwise they stay (merge). Returns how many were written.
    async fn import(
        &self,
        namespace: &str,
        pairs: &BTreeMap<String, Value>,
        replace: bool,
    ) -> Result<u64, StoreError>;

    /// Applies a batch of changes to the namespace, all or nothing: each key is set to its
    /// value, or removed when it maps to `None` (removing a missing key is no error).
    async fn apply(
        &self,
        namespace: &str,
        changes: &BTreeMap<String, Option<Value>>,
    ) -> Result<(), StoreError>;

    /// Removes every key of the namespace (and no other); returns how many.
    async fn erase(&self, namespace: &str) -> Result<u64, StoreError>;

    /// Every namespace holding at least one key, sorted, with its key count.
    async fn namespaces(&self) -> Result<Vec<NamespaceSummary>, StoreError>;
}
