//! How a command failed, and the exit code that tells scripts which kind of failure it was.

use std::error::Error;
use std::fmt;

/// A failure's cause: an error with its chain of sources, or a message written here.
type Cause = Box<dyn Error + Send + Sync>;

/// A failed command: usage/validation problems exit 2, everything else exits 1. The cause
/// keeps its sources; the chain is rendered once, when the failure is shown.
#[derive(Debug)]
pub struct Failure {
    usage: bool,
    cause: Cause,
}

impl Failure {
    /// Wrong arguments, bad configuration, or a message that breaks HipChat's limits.
    pub fn usage(cause: impl Into<Cause>) -> Self {
        Self {
            usage: true,
            cause: cause.into(),
        }
    }

    /// HipChat (or the network, or the store) refused or failed the request.
    pub fn runtime(cause: impl Into<Cause>) -> Self {
        Self {
            usage: false,
            cause: cause.into(),
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        if self.usage { 2 } else { 1 }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hipchat::error_chain(&*self.cause))
    }
}

impl From<hipchat::Error> for Failure {
    fn from(e: hipchat::Error) -> Self {
        match e {
            hipchat::Error::Validation(_) | hipchat::Error::Config(_) => Self::usage(e),
            other => Self::runtime(other),
        }
    }
}

impl From<hipkit::SettingsError> for Failure {
    fn from(e: hipkit::SettingsError) -> Self {
        Self::usage(e)
    }
}

impl From<hipkit::Error> for Failure {
    fn from(e: hipkit::Error) -> Self {
        match e {
            hipkit::Error::Settings(e) => e.into(),
            hipkit::Error::HipChat(e) => e.into(),
            hipkit::Error::Transport(hipkit_transport::TransportError::Invalid(v)) => {
                Self::usage(v)
            }
            other => Self::runtime(other),
        }
    }
}

impl From<hipkit_status::StatusError> for Failure {
    fn from(e: hipkit_status::StatusError) -> Self {
        match e {
            hipkit_status::StatusError::Store(_) => Self::runtime(e),
            other => Self::usage(other),
        }
    }
}

impl From<hipkit::serve::ServeError> for Failure {
    fn from(e: hipkit::serve::ServeError) -> Self {
        use hipkit::serve::ServeError;
        use hipkit_server::CapabilityError;
        match e {
            ServeError::HipChat(e) => e.into(),
            ServeError::Config(_)
            | ServeError::TokenWithoutEndpoint
            | ServeError::EmulatorAndEndpoint
            | ServeError::Unauthenticated { .. }
            | ServeError::Capability(CapabilityError::Config { .. }) => Self::usage(e),
            other => Self::runtime(other),
        }
    }
}
