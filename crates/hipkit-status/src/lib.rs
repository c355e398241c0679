//! CI build status, Buildbot's way: the build model (Buildbot's data API shape, as
//! HttpStatusPush sends it), generators (which events and results are reported), the
//! previous-build memory that the `change` and `problem` modes compare with, Jinja templates,
//! the reporters (HipChatStatusPush, HttpStatusPush) and the `POST /hooks/buildbot` relay.

mod build;
mod capability;
pub mod config;
mod couriers;
mod event;
pub mod generator;
pub mod hipchat;
mod history;
pub mod http;
pub mod relay;
pub mod report;
pub mod results;
pub mod template;

#[cfg(test)]
mod fixtures;

pub use build::{Build, BuildError, PrevBuild, PrevBuildField};
pub use capability::{HistoryMode, StatusError};
pub use config::{CheckedReporters, ConfigError, ConfigProblem, RelayConfig, ReportersConfig};
pub use couriers::ReporterCouriers;
pub use event::{Event, UnknownEvent};
pub use generator::{Filters, Generator, Mode, ModeError, Modes};
pub use history::History;
pub use relay::{Relay, RelayAuth};
pub use report::{
    HipChatRoute, Outgoing, ParcelPost, Prepared, ReportError, ReporterDeps, Reporters, SetupError,
};
