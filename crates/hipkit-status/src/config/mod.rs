//! Reporter configuration: typed reads of each reporter table with Buildbot's wording for
//! type errors.

mod error;
mod reporters;
mod table;

pub use error::{ConfigError, ConfigProblem};
pub use reporters::{CheckedReporters, DEFAULT_SECRET_HEADER, RelayConfig, ReportersConfig};
pub(crate) use table::{Table, compile};
