//! Storm control, part one: identical records (level, target, message template) inside a
//! window become the first record, posted at once, and one summary with a count.

use crate::record::{Key, Record, Repeat};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Distinct records tracked at most; beyond it new ones pass through uncoalesced, so memory
/// stays bounded whatever the variety of records.
const MAX_KEYS: usize = 1024;

/// A run of identical records inside the current window.
struct Run {
    started: Instant,
    repeats: u64,
    latest: Option<Record>,
}

/// Absorbs repeats of records posted within the window and summarises them when it ends.
pub(crate) struct Coalescer {
    window: Duration,
    runs: HashMap<Key, Run>,
}

impl Coalescer {
    /// Coalesces over `window` (zero: every record passes through).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            runs: HashMap::new(),
        }
    }

    /// The record to post now, or `None` if it repeats one posted in this window.
    pub fn offer(&mut self, record: Record, now: Instant) -> Option<Record> {
        if self.window.is_zero() {
            return Some(record);
        }
        let key = record.key();
        if let Some(run) = self.runs.get_mut(&key) {
            run.repeats += record.represents;
            run.latest = Some(record);
            return None;
        }
        if self.runs.len() < MAX_KEYS {
            let run = Run {
                started: now,
                repeats: 0,
                latest: None,
            };
            self.runs.insert(key, run);
        }
        Some(record)
    }

    /// Summaries of the runs whose window has ended; a run with repeats starts a new window
    /// (a storm that goes on keeps being summarised), one without is forgotten.
    pub fn expire(&mut self, now: Instant) -> Vec<Record> {
        let window = self.window;
        let mut summaries = Vec::new();
        self.runs.retain(|_, run| {
            if now < run.started + window {
                return true;
            }
            match summarise(run, now) {
                Some(summary) => {
                    summaries.push(summary);
                    run.started = now;
                    true
                }
                None => false,
            }
        });
        summaries
    }

    /// Summaries of every run, now (at shutdown); forgets them all.
    pub fn flush(&mut self, now: Instant) -> Vec<Record> {
        self.runs
            .drain()
            .filter_map(|(_, mut run)| summarise(&mut run, now))
            .collect()
    }

    /// When the next window ends.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.runs.values().map(|r| r.started + self.window).min()
    }
}

/// The run's latest record marked with how many it stands for; resets the run.
fn summarise(run: &mut Run, now: Instant) -> Option<Record> {
    let mut summary = run.latest.take()?;
    summary.represents = run.repeats;
    summary.repeated = Some(Repeat {
        count: run.repeats,
        over: now - run.started,
    });
    run.repeats = 0;
    Some(summary)
}
