//! The build reporters' memory: the last result per (reporter scope, builder), which
//! Buildbot's `change` and `problem` modes compare each new build with.

use crate::{Millis, StoreError};
use async_trait::async_trait;

/// The last build a reporter saw for a builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastBuild {
    /// Buildbot's build number.
    pub build_number: i64,
    /// Buildbot's result code: 0 success, 1 warnings, 2 failure, 3 skipped, 4 exception,
    /// 5 retry, 6 cancelled.
    pub result: i64,
    /// When the reporter recorded it.
    pub at: Millis,
}

/// Last build per (scope, builder); `scope` separates reporters (e.g. one per configured
/// reporter name) so two reporters never see each other's history.
#[async_trait]
pub trait LastBuildStore: Send + Sync {
    /// The last build recorded for `builder` under `scope`.
    async fn get_last(&self, scope: &str, builder: &str) -> Result<Option<LastBuild>, StoreError>;

    /// Records `build` as the last one and returns the one it replaced, atomically (a swap:
    /// two concurrent reporters each see a distinct previous value).
    async fn put_last(
        &self,
        scope: &str,
        builder: &str,
        build: &LastBuild,
    ) -> Result<Option<LastBuild>, StoreError>;
}
