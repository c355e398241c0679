//! The HTTP plumbing every hipkit endpoint shares. A capability hands [`Server`] an axum
//! `Router` with its own state (public, or behind the API token), registers its metrics in
//! the shared registry and its health checks; the server wraps them all in one JSON error
//! envelope, one body limit, one request timeout, and serves them until shutdown.

mod auth;
mod body;
mod config;
mod connections;
mod error;
mod health;
mod line;
mod server;
mod shutdown;

pub use auth::require_token;
pub use body::TimedBody;
pub use config::{ConfigError, ServerConfig};
pub use error::ApiError;
pub use health::{HealthCheck, ScrapeHook};
pub use line::one_line;
pub use server::{BoundServer, RequestDeadline, Routes, Server, ServerError};
pub use shutdown::shutdown_signal;
