//! Which builds a reporter reports: Buildbot's `BuildStatusGenerator` (events, modes,
//! filters, `report_new`).

mod mode;

#[cfg(test)]
mod tests;

pub use mode::{Mode, ModeError, Modes};

use crate::Event;
use crate::build::{Build, PrevBuild};
use serde_json::Value;

/// Buildbot's property filters, all ANDed; `None` means "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// `builder.name` must be one of these.
    pub builders: Option<Vec<String>>,
    /// One of `builder.tags` must be one of these.
    pub tags: Option<Vec<String>>,
    /// The `scheduler` property must be one of these.
    pub schedulers: Option<Vec<String>>,
    /// The `branch` property (not the sourcestamp's branch) must be one of these.
    pub branches: Option<Vec<String>>,
}

fn property_in(build: &Build, name: &str, allowed: &[String]) -> bool {
    matches!(build.property(name), Some(Value::String(v)) if allowed.contains(v))
}

impl Filters {
    /// Whether the build passes every configured filter.
    pub fn pass(&self, build: &Build) -> bool {
        let builders = self
            .builders
            .as_ref()
            .is_none_or(|b| b.iter().any(|n| n == build.builder_name()));
        let tags = self
            .tags
            .as_ref()
            .is_none_or(|t| build.builder_tags().any(|tag| t.iter().any(|x| x == tag)));
        let schedulers = self
            .schedulers
            .as_ref()
            .is_none_or(|s| property_in(build, "scheduler", s));
        let branches = self
            .branches
            .as_ref()
            .is_none_or(|b| property_in(build, "branch", b));
        builders && tags && schedulers && branches
    }
}

/// One reporter's generator: which events and results it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generator {
    /// Which finished results are reported.
    pub modes: Modes,
    /// Which builds at all.
    pub filters: Filters,
    /// Whether `started` events are reported (their mode check is skipped).
    pub report_new: bool,
}

impl Generator {
    /// Whether the check of `event` needs the previous build (`change`, `problem`).
    pub fn needs_previous(&self, event: Event) -> bool {
        event == Event::Finished && self.modes.needs_previous()
    }

    /// Whether to report `build` for `event`; `prev` is the previous build, if any (only
    /// read when [`Generator::needs_previous`]).
    pub fn wants(&self, build: &Build, event: Event, prev: Option<PrevBuild>) -> bool {
        let event_ok = match event {
            Event::Started => self.report_new,
            Event::Finished => self.modes.matches(build.results(), prev),
        };
        event_ok && self.filters.pass(build)
    }
}
