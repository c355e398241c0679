//! Post a service's log records to a HipChat room: a `tracing_subscriber` [`Layer`] and a
//! `log` bridge, rebuilt from djhipchat2's `HipChatHandler` without its faults.
//!
//! Never in the way: the caller only filters and enqueues into a bounded channel (full:
//! the record is dropped, counted, and a notice follows); a background task coalesces
//! storms of identical records, keeps within HipChat's flood control by batching, and posts
//! through any [`hipkit_transport::Transport`]. Records from the HTTP stack and from the
//! layer's own delivery are never posted, a failed post goes to stderr, and the
//! [`LogGuard`] flushes at exit.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let (layer, guard) = hipkit_log::builder("Ops")
//!     .endpoint("http://127.0.0.1:8180", hipchat::Token::new("secret"))
//!     .level(tracing::Level::INFO)
//!     .sender("billing")
//!     .build()?;
//! tracing_subscriber::registry().with(layer).init();
//! tracing::error!(order = 42, "payment failed");
//! let report = guard.shutdown(std::time::Duration::from_secs(5));
//! assert_eq!(report.pending, 0);
//! # Ok::<(), hipkit_log::BuildError>(())
//! ```
//!
//! [`Layer`]: tracing_subscriber::Layer

mod bridge;
mod builder;
mod config;
mod error;
mod filter;
mod formatting;
mod guard;
mod intake;
mod layer;
mod record;
mod reentrancy;
mod stats;
mod worker;

pub use bridge::LogBridge;
pub use builder::Builder;
pub use config::{LogConfig, MinLevel, PerLevel, default_color};
pub use error::BuildError;
pub use filter::RoomFilter;
pub use formatting::MAX_MESSAGE_CHARS;
pub use guard::LogGuard;
pub use layer::{FilteredRoomLayer, RoomLayer};
pub use stats::ShutdownReport;

/// A builder for a layer posting to `room` (id or name), with [`LogConfig`]'s defaults.
pub fn builder(room: impl Into<String>) -> Builder {
    Builder::from_config(LogConfig {
        room: Some(room.into()),
        ..LogConfig::default()
    })
}
