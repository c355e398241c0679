//! What the library entry point can fail with.

use thiserror::Error;

/// A failure to configure hipkit or to hand it a message.
#[derive(Debug, Error)]
pub enum Error {
    /// The settings could not be resolved.
    #[error(transparent)]
    Settings(#[from] crate::SettingsError),
    /// The HipChat client could not be built (no token, bad endpoint).
    #[error(transparent)]
    HipChat(#[from] hipchat::Error),
    /// The delivery backend could not be built (store, file).
    #[error(transparent)]
    Build(#[from] hipkit_transport::BuildError),
    /// The transport refused the message (invalid, unreachable, not persisted).
    #[error(transparent)]
    Transport(#[from] hipkit_transport::TransportError),
}
