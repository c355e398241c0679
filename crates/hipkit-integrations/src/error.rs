//! Why the integrations cannot start.

use crate::registry::ScanError;
use crate::runtime::python::PythonError;
use crate::tokens::{TokenSpecError, TokensError};
use std::path::PathBuf;

/// A start-up failure: the folder, Python, the tokens or the folder watcher.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationsError {
    /// No integrations folder was configured.
    #[error("no integrations folder: pass PATH (or -i PATH), or set [integrations] path")]
    NoFolder,
    /// The folder cannot be read.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// Python is missing or too old for the `.py` integrations.
    #[error(transparent)]
    Python(#[from] PythonError),
    /// A token spec is malformed.
    #[error(transparent)]
    TokenSpec(#[from] TokenSpecError),
    /// The token specs conflict.
    #[error(transparent)]
    Tokens(#[from] TokensError),
    /// The tokens file cannot be read.
    #[error("cannot read the tokens file {}: {source}", path.display())]
    TokensFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A tokens file line is malformed.
    #[error("tokens file {}: {source}", path.display())]
    TokensFileSpec {
        /// The file.
        path: PathBuf,
        /// The malformed line.
        #[source]
        source: TokenSpecError,
    },
    /// A slash-command secret cannot be read.
    #[error(transparent)]
    Secret(#[from] hipchat::SecretError),
    /// The HTTP client for late slash-command replies cannot be built.
    #[error("cannot build the HTTP client for slash-command replies")]
    ReplyClient(#[source] hipkit_transport::push::PushError),
    /// The folder cannot be watched.
    #[error("cannot watch the integrations folder: {0}")]
    Watch(#[from] notify::Error),
}
