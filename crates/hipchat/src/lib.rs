//! HipChat API v2: the model shared by the client and the emulator, validation to the
//! documented limits, webhook payloads, and an async HTTP [`Client`].

pub mod authorization;
pub mod client;
pub mod config;
pub mod duration;
pub mod error;
pub mod html;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod model;
pub mod ratelimit;
pub mod redact;
pub mod refs;
pub mod secret;
pub mod secret_source;
pub mod suggest;
pub mod validate;

pub use authorization::{Credentials, parse_authorization};
pub use client::{
    AuthProbe, Client, ClientBuilder, FileShare, HistoryQuery, LatestQuery, MAX_FILE_BYTES, Paging,
    Response,
};
pub use config::{ClientConfig, DEFAULT_ENDPOINT};
pub use duration::{DurationError, parse_duration};
pub use error::{ApiError, ConfigError, Error, error_chain};
pub use html::escape_html;
pub use model::*;
pub use ratelimit::RateLimit;
pub use redact::{redact_capability_url, redact_url};
pub use refs::{RoomRef, UserRef};
pub use secret::{Token, same_secret};
pub use secret_source::{SecretError, SecretSource};
pub use suggest::did_you_mean;
pub use validate::{Validate, ValidationError};
