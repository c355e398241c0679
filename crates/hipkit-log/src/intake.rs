//! The caller's side, shared by the tracing layer and the `log` bridge: decide cheaply
//! whether a record is wanted, then hand it over without ever waiting.

use crate::record::Record;
use crate::reentrancy;
use crate::stats::Stats;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::Level;
use tracing::level_filters::LevelFilter;

/// Targets never posted: the HTTP stack a post goes through, and the layer itself.
const EXCLUDED_TARGETS: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "want",
    "hipkit_log",
];

/// Whether `target` is one of [`EXCLUDED_TARGETS`] or a module inside one.
pub(crate) fn excluded(target: &str) -> bool {
    EXCLUDED_TARGETS.iter().any(|crate_name| {
        target
            .strip_prefix(crate_name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// The sending end of the bounded channel, with the filters every record passes first.
#[derive(Debug, Clone)]
pub(crate) struct Intake {
    tx: mpsc::Sender<Record>,
    stats: Arc<Stats>,
    level: LevelFilter,
}

impl Intake {
    /// An intake feeding `tx`, posting records at `level` and more severe.
    pub fn new(tx: mpsc::Sender<Record>, stats: Arc<Stats>, level: LevelFilter) -> Self {
        Self { tx, stats, level }
    }

    /// The least severe level posted.
    pub fn level(&self) -> LevelFilter {
        self.level
    }

    /// Whether a record at `level` from `target` is posted at all (cheapest checks first).
    pub fn wants(&self, level: Level, target: &str) -> bool {
        level <= self.level && !reentrancy::active() && !excluded(target)
    }

    /// Whether the channel has room; when it has not, the record is counted as dropped
    /// before anything is built for it.
    pub fn has_room(&self) -> bool {
        if self.tx.capacity() == 0 {
            self.stats.dropped(1);
            return false;
        }
        true
    }

    /// The shared counters.
    #[cfg(test)]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Hands a record to the background task, or counts it as dropped.
    pub fn submit(&self, record: Record) {
        match self.tx.try_send(record) {
            Ok(()) => self.stats.accepted(),
            Err(_) => self.stats.dropped(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_the_http_stack_and_itself_by_crate_boundary() {
        for t in [
            "hyper",
            "hyper::proto::h1",
            "hyper_util::client::legacy::pool",
            "reqwest::connect",
            "h2::codec",
            "rustls::client",
            "hipkit_log",
            "hipkit_log::worker",
        ] {
            assert!(excluded(t), "{t}");
        }
        for t in [
            "hyperion",
            "h2o::app",
            "my_service",
            "hipkit_transport::outbox",
            "",
        ] {
            assert!(!excluded(t), "{t}");
        }
    }
}
