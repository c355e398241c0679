//! Why a room log could not be built.

use thiserror::Error;

/// A configuration the layer cannot run with; nothing was started.
#[derive(Debug, Error)]
pub enum BuildError {
    /// No room to post to.
    #[error("no room: set [log] room (HIPKIT_LOG__ROOM) or pass one to the builder")]
    NoRoom,
    /// Neither a transport nor an endpoint and token were given.
    #[error("no transport: give the builder a transport, or an endpoint and a token")]
    NoTransport,
    /// The room or sender breaks a HipChat limit.
    #[error("invalid [log] setting: {0}")]
    Invalid(#[from] hipchat::ValidationError),
    /// A size that must be at least 1 is 0.
    #[error("[log] {0} must be at least 1")]
    Zero(&'static str),
    /// The HipChat client for an endpoint and token could not be built.
    #[error("cannot build the HipChat client for the log: {0}")]
    Client(#[source] hipchat::Error),
    /// The background task's thread or runtime could not be started.
    #[error("cannot start the log's background task: {0}")]
    Start(#[source] std::io::Error),
}
