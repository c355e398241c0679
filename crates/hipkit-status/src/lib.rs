//! CI build status, Buildbot's way: the build model (Buildbot's data API shape, as
//! HttpStatusPush sends it), generators (which events and results are reported), and the
//! previous-build memory that the `change` and `problem` modes compare with.

mod build;
mod event;
pub mod generator;
mod history;
pub mod results;

#[cfg(test)]
mod fixtures;

pub use build::{Build, BuildError, PrevBuild, PrevBuildField};
pub use event::{Event, UnknownEvent};
pub use generator::{Filters, Generator, Mode, ModeError, Modes};
pub use history::History;
