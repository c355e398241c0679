//! Reporter configuration: typed reads of each reporter table with Buildbot's wording for
//! type errors.

mod error;
mod table;

pub use error::{ConfigError, ConfigProblem};
pub(crate) use table::{Table, compile};
