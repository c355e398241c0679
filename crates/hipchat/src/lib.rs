//! HipChat API v2: the model shared by the client and the emulator, validation to the
//! documented limits, webhook payloads, and an async HTTP [`Client`].

pub mod authorization;
pub mod client;
pub mod config;
pub mod duration;
pub mod error;
pub mod html;
pub mod jwt;
pub mod model;
pub mod ratelimit;
pub mod refs;
pub mod secret;
pub mod secret_source;
pub mod validate;

pub use authorization::{Credentials, parse_authorization};
pub use client::{
    AuthProbe, Client, ClientBuilder, FileShare, HistoryQuery, LatestQuery, Paging, Response,
};
pub use config::{ClientConfig, DEFAULT_ENDPOINT};
pub use duration::{DurationError, parse_duration};
pub use error::{ApiError, ConfigError, Error, error_chain};
pub use html::escape_html;
pub use model::*;
pub use ratelimit::RateLimit;
pub use refs::{RoomRef, UserRef};
pub use secret::{Token, same_secret};
pub use secret_source::{SecretError, SecretSource};
pub use validate::{Validate, ValidationError};
