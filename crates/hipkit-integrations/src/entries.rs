//! Reading an integration's storage one entry at a time (its keys, then each value as it is
//! needed), so that starting a host, running an executable or exporting holds one value in
//! memory rather than the whole namespace.

use hipkit_store::{KvStore, StoreError};
use serde_json::Value;
use std::sync::Arc;

/// The entries of one namespace, read one by one in key order.
pub(crate) struct Entries {
    store: Arc<dyn KvStore>,
    namespace: String,
    keys: std::vec::IntoIter<String>,
}

impl Entries {
    /// Lists `namespace`'s keys; their values are read by [`Entries::next`].
    pub(crate) async fn open(store: Arc<dyn KvStore>, namespace: &str) -> Result<Self, StoreError> {
        let keys = store.list(namespace).await?;
        Ok(Self {
            store,
            namespace: namespace.to_owned(),
            keys: keys.into_iter(),
        })
    }

    /// The namespace read.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The next entry (a key removed since the listing is skipped), or `None` at the end.
    pub(crate) async fn next(&mut self) -> Option<Result<(String, Value), StoreError>> {
        loop {
            let key = self.keys.next()?;
            match self.store.get(&self.namespace, &key).await {
                Ok(Some(value)) => return Some(Ok((key, value))),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
