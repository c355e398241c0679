//! The previous build for `change` and `problem`: `prev_build` when the sender included it,
//! otherwise the last result hipkit recorded for the builder in its store.

use crate::Event;
use crate::build::{Build, PrevBuild, PrevBuildField};
use crate::results::RETRY;
use hipkit_store::{LastBuild, LastBuildStore, StoreError, now_millis};
use std::sync::Arc;

/// Where previous builds come from when the sender does not say.
#[derive(Clone, Default)]
pub struct History {
    store: Option<Arc<dyn LastBuildStore>>,
    read_only: bool,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("store", &self.store.is_some())
            .finish()
    }
}

impl History {
    /// Remembers last builds in `store`.
    pub fn new(store: Arc<dyn LastBuildStore>) -> Self {
        Self {
            store: Some(store),
            read_only: false,
        }
    }

    /// Reads last builds from `store` but never records one (`--dry-run`).
    pub fn read_only(store: Arc<dyn LastBuildStore>) -> Self {
        Self {
            store: Some(store),
            read_only: true,
        }
    }

    /// No memory: without `prev_build` in the input there is never a previous build.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether a store backs this history.
    pub fn is_stored(&self) -> bool {
        self.store.is_some()
    }

    /// The build before `build` for the reporter `scope`. A finished build (other than
    /// RETRY, which Buildbot never counts as a previous build) is recorded as the builder's
    /// last in the same atomic swap that reads the one before it.
    pub async fn previous(
        &self,
        scope: &str,
        build: &Build,
        event: Event,
    ) -> Result<Option<PrevBuild>, StoreError> {
        match build.prev_build() {
            PrevBuildField::Some(prev) => return Ok(Some(prev)),
            PrevBuildField::None => return Ok(None),
            PrevBuildField::Absent => {}
        }
        let Some(store) = &self.store else {
            tracing::debug!(
                builder = build.builder_name(),
                "no prev_build in the build and no store: no previous build"
            );
            return Ok(None);
        };
        let builder = build.builder_name();
        let recordable = match (event, build.results(), build.number()) {
            (Event::Finished, Some(results), Some(number)) if results != RETRY => Some(LastBuild {
                build_number: number,
                result: results,
                at: now_millis(),
            }),
            _ => None,
        };
        let last = match recordable.filter(|_| !self.read_only) {
            Some(record) => store.put_last(scope, builder, &record).await?,
            None => store.get_last(scope, builder).await?,
        };
        Ok(last
            .filter(|l| build.number().is_none_or(|n| l.build_number < n))
            .map(|l| PrevBuild {
                number: Some(l.build_number),
                results: Some(l.result),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::reference_build;
    use hipkit_store::SqliteStore;
    use serde_json::json;

    fn build(number: i64, results: i64) -> Build {
        let mut v = reference_build();
        v["number"] = json!(number);
        v["results"] = json!(results);
        Build::from_value(v).unwrap()
    }

    fn prev(number: i64, results: i64) -> Option<PrevBuild> {
        Some(PrevBuild {
            number: Some(number),
            results: Some(results),
        })
    }

    #[tokio::test]
    async fn the_store_remembers_per_scope_and_builder() {
        let history = History::new(Arc::new(SqliteStore::temporary().await.unwrap()));
        let fin = Event::Finished;
        assert_eq!(
            history.previous("a", &build(1, 0), fin).await.unwrap(),
            None
        );
        assert_eq!(
            history.previous("a", &build(2, 2), fin).await.unwrap(),
            prev(1, 0)
        );
        assert_eq!(
            history.previous("b", &build(2, 2), fin).await.unwrap(),
            None,
            "scopes are separate"
        );
        // RETRY is never a previous build, and is not recorded.
        assert_eq!(
            history.previous("a", &build(3, 5), fin).await.unwrap(),
            prev(2, 2)
        );
        assert_eq!(
            history.previous("a", &build(4, 0), fin).await.unwrap(),
            prev(2, 2)
        );
    }

    #[tokio::test]
    async fn prev_build_in_the_input_wins_and_is_not_recorded() {
        let history = History::new(Arc::new(SqliteStore::temporary().await.unwrap()));
        let mut v = reference_build();
        v["prev_build"] = json!({"number": 9, "results": 4});
        let given = Build::from_value(v.clone()).unwrap();
        assert_eq!(
            history
                .previous("a", &given, Event::Finished)
                .await
                .unwrap(),
            prev(9, 4)
        );
        v["prev_build"] = json!(null);
        let none = Build::from_value(v).unwrap();
        assert_eq!(
            history.previous("a", &none, Event::Finished).await.unwrap(),
            None
        );
        assert_eq!(
            history
                .previous("a", &build(1, 0), Event::Finished)
                .await
                .unwrap(),
            None,
            "nothing was recorded for the builds that carried prev_build"
        );
    }

    #[tokio::test]
    async fn read_only_history_reads_but_never_records() {
        let store = Arc::new(SqliteStore::temporary().await.unwrap());
        History::new(store.clone())
            .previous("a", &build(1, 2), Event::Finished)
            .await
            .unwrap();
        let dry = History::read_only(store);
        for _ in 0..2 {
            assert_eq!(
                dry.previous("a", &build(2, 0), Event::Finished)
                    .await
                    .unwrap(),
                prev(1, 2)
            );
        }
    }

    #[tokio::test]
    async fn without_a_store_there_is_no_previous_build() {
        let history = History::none();
        assert!(!history.is_stored());
        assert_eq!(
            history
                .previous("a", &build(1, 0), Event::Finished)
                .await
                .unwrap(),
            None
        );
    }
}
