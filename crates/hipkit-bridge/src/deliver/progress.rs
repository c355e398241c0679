//! Which parts of a multi-part parcel its destination already took, so that a retry after a
//! later part failed sends only the parts still missing instead of posting the earlier ones
//! again. Kept in memory by the couriers: a restart forgets it, and a parcel cut short by a
//! crash is sent whole again (Matrix still posts each part once: its transaction ids are
//! made from the parcel and the part).

use std::collections::HashMap;
use std::sync::Mutex;

/// Most parcels with partial progress remembered; beyond it the oldest knowledge is dropped
/// (a parcel dead-lettered half-way is never completed, so its entry would stay).
const REMEMBERED: usize = 10_000;

/// Parts delivered so far, by parcel id, for parcels not yet delivered whole.
#[derive(Debug, Default)]
pub struct Progress {
    done: Mutex<HashMap<String, usize>>,
}

impl Progress {
    /// How many leading parts of parcel `id` were delivered by earlier attempts.
    pub fn delivered(&self, id: &str) -> usize {
        self.done
            .lock()
            .map_or(0, |done| done.get(id).copied().unwrap_or(0))
    }

    /// Notes that the first `parts` parts of parcel `id` were delivered.
    pub fn record(&self, id: &str, parts: usize) {
        if let Ok(mut done) = self.done.lock() {
            if done.len() >= REMEMBERED && !done.contains_key(id) {
                done.clear();
            }
            done.insert(id.to_owned(), parts);
        }
    }

    /// Forgets parcel `id` (delivered whole).
    pub fn forget(&self, id: &str) {
        if let Ok(mut done) = self.done.lock() {
            done.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_remembered_until_the_parcel_is_delivered() {
        let p = Progress::default();
        assert_eq!(p.delivered("a"), 0);
        p.record("a", 1);
        p.record("a", 2);
        assert_eq!(p.delivered("a"), 2);
        p.forget("a");
        assert_eq!(p.delivered("a"), 0);
    }
}
