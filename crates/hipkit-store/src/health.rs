//! What a store reports about itself: whether intake can commit right now.

use crate::{Millis, StoreError};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A passed health check: a commit went through and the database file is the one opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreHealth {
    /// When the check that this answer comes from ran (answers are cached for a moment).
    pub checked_at: Millis,
}

/// How long a health answer is reused.
const HEALTH_CACHE: Duration = Duration::from_secs(2);

/// A cached answer and when it was found.
type Answer = (Instant, Result<StoreHealth, Arc<StoreError>>);

/// The last health answer of a store (shared by its clones), reused for [`HEALTH_CACHE`]
/// so `/healthz` polling stays cheap.
#[derive(Debug, Clone, Default)]
pub(crate) struct HealthCache(Arc<Mutex<Option<Answer>>>);

impl HealthCache {
    /// The cached answer if fresh, else `probe`'s (cached); a failure is
    /// [`StoreError::Unhealthy`] with its cause.
    pub(crate) async fn answer(
        &self,
        probe: impl Future<Output = Result<StoreHealth, StoreError>>,
    ) -> Result<StoreHealth, StoreError> {
        let fresh = {
            let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .as_ref()
                .filter(|(at, _)| at.elapsed() < HEALTH_CACHE)
                .map(|(_, answer)| answer.clone())
        };
        let answer = match fresh {
            Some(answer) => answer,
            None => {
                let answer = probe.await.map_err(Arc::new);
                let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
                *cache = Some((Instant::now(), answer.clone()));
                answer
            }
        };
        answer.map_err(StoreError::Unhealthy)
    }
}
