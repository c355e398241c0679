//! How a command failed, and the exit code that tells scripts which kind of failure it was.

use std::fmt;

/// A failed command: usage/validation problems exit 2, everything else exits 1.
#[derive(Debug)]
pub enum Failure {
    /// Wrong arguments, bad configuration, or a message that breaks HipChat's limits.
    Usage(String),
    /// HipChat (or the network, or the store) refused or failed the request.
    Runtime(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Runtime(_) => 1,
        }
    }

    /// A runtime failure from any error.
    pub fn runtime(e: impl fmt::Display) -> Self {
        Self::Runtime(e.to_string())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::Runtime(m) => f.write_str(m),
        }
    }
}

impl From<hipchat::Error> for Failure {
    fn from(e: hipchat::Error) -> Self {
        match e {
            hipchat::Error::Validation(_) | hipchat::Error::Config(_) => Self::Usage(e.to_string()),
            other => Self::Runtime(other.to_string()),
        }
    }
}

impl From<hipkit::SettingsError> for Failure {
    fn from(e: hipkit::SettingsError) -> Self {
        Self::Usage(e.to_string())
    }
}

impl From<hipkit::Error> for Failure {
    fn from(e: hipkit::Error) -> Self {
        match e {
            hipkit::Error::Settings(e) => e.into(),
            hipkit::Error::HipChat(e) => e.into(),
            hipkit::Error::Transport(hipkit_transport::TransportError::Invalid(v)) => {
                Self::Usage(v.to_string())
            }
            other => Self::Runtime(other.to_string()),
        }
    }
}

impl From<hipkit_status::StatusError> for Failure {
    fn from(e: hipkit_status::StatusError) -> Self {
        match e {
            hipkit_status::StatusError::Store(_) => Self::Runtime(e.to_string()),
            other => Self::Usage(other.to_string()),
        }
    }
}

impl From<hipkit::serve::ServeError> for Failure {
    fn from(e: hipkit::serve::ServeError) -> Self {
        use hipkit::serve::ServeError;
        use hipkit_server::CapabilityError;
        match e {
            ServeError::HipChat(e) => e.into(),
            ServeError::Config(_) | ServeError::Capability(CapabilityError::Config { .. }) => {
                Self::Usage(e.to_string())
            }
            other => Self::Runtime(other.to_string()),
        }
    }
}
