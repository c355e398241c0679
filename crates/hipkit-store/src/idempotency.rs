//! Idempotency keys: a client's name for a message, so a retried request is stored once.

use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// How long a key is remembered at least: `purge_idempotency_keys` callers keep this much.
pub const IDEMPOTENCY_KEY_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// A client-chosen key for a message, and a fingerprint of the payload it came with (the
/// same key with another payload is a conflict, not a retry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    /// The client's key (e.g. an `Idempotency-Key` header, scoped by the caller as needed).
    pub key: String,
    /// A digest of the payload; compared as an opaque string.
    pub fingerprint: String,
}

/// What [`crate::OutboxStore::enqueue`] did with one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "id")]
pub enum Enqueued {
    /// Stored under this new id.
    New(String),
    /// Not stored: its key is already stored, with the same fingerprint, for this id.
    Existing(String),
    /// Not stored: its key is already stored for this id with another fingerprint.
    Conflict(String),
}

impl Enqueued {
    /// The id the record is (or already was) stored under.
    pub fn id(&self) -> &str {
        match self {
            Self::New(id) | Self::Existing(id) | Self::Conflict(id) => id,
        }
    }

    /// Whether this record was inserted.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::New(_))
    }
}

/// Keys already stored: key → (fingerprint, id).
pub(crate) type KnownKeys = HashMap<String, (String, String)>;

/// Decides, in batch order, what becomes of each record given the keys already stored: a
/// record without a key, or with an unknown one, gets a fresh id from `new_id`; a key seen
/// earlier (stored, or earlier in the batch) answers with that id. Every backend's
/// `enqueue` then inserts exactly the [`Enqueued::New`] records (and their keys).
pub(crate) fn plan<'a>(
    keys: impl Iterator<Item = Option<&'a IdempotencyKey>>,
    mut known: KnownKeys,
    mut new_id: impl FnMut() -> String,
) -> Vec<Enqueued> {
    keys.map(|key| {
        let Some(key) = key else {
            return Enqueued::New(new_id());
        };
        match known.get(&key.key) {
            Some((fingerprint, id)) if *fingerprint == key.fingerprint => {
                Enqueued::Existing(id.clone())
            }
            Some((_, id)) => Enqueued::Conflict(id.clone()),
            None => {
                let id = new_id();
                known.insert(key.key.clone(), (key.fingerprint.clone(), id.clone()));
                Enqueued::New(id)
            }
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str, f: &str) -> IdempotencyKey {
        IdempotencyKey {
            key: k.into(),
            fingerprint: f.into(),
        }
    }

    #[test]
    fn a_batch_stores_each_key_once() {
        let (a, a2, b) = (key("a", "1"), key("a", "2"), key("b", "1"));
        let known = KnownKeys::from([("b".into(), ("1".into(), "old".into()))]);
        let mut n = 0;
        let got = plan(
            [Some(&a), None, Some(&a), Some(&a2), Some(&b)].into_iter(),
            known,
            || {
                n += 1;
                format!("id{n}")
            },
        );
        assert_eq!(
            got,
            [
                Enqueued::New("id1".into()),
                Enqueued::New("id2".into()),
                Enqueued::Existing("id1".into()),
                Enqueued::Conflict("id1".into()),
                Enqueued::Existing("old".into()),
            ]
        );
    }
}
