//! The HTTP plumbing every hipkit endpoint shares. A capability hands [`Server`] an axum
//! `Router` with its own state (public, or behind the API token), registers its metrics in
//! the shared registry and its health checks; the server wraps them all in one JSON error
//! envelope, one body limit, one request timeout, and serves them until shutdown.
//!
//! Every listener answers only to the names it serves ([`AllowedHosts`], checked in the
//! connection layer before any handler runs): the DNS-rebinding defence.
//!
//! The pieces are public for a router served on its own (the HipChat emulator): the
//! connection layer ([`serve_connections`], with optional TLS and [`CloseConnection`]), the
//! envelope middleware ([`envelope_errors`]), the error answer ([`ApiError`]) and the body
//! reader ([`TimedBody`], with [`stamp_deadline`] and [`BodyLimit`]).

mod auth;
mod body;
mod capability;
mod config;
mod connections;
mod envelope;
mod error;
mod health;
pub mod hipchat_api;
mod hook;
mod host;
mod idempotency;
mod line;
pub mod rate;
mod server;
mod shutdown;
mod tls;

pub use auth::require_token;
pub use body::{BodyLimit, TimedBody};
pub use capability::{Capability, CapabilityError, Context, Mounted, Task};
pub use config::{ConfigError, ServerConfig};
pub use connections::{CloseConnection, Connections, serve_connections};
pub use envelope::envelope_errors;
pub use error::ApiError;
pub use health::{HealthCheck, ScrapeHook};
pub use hook::{check_webhook, origin_is_own};
pub use host::{AllowedHosts, HostError};
pub use idempotency::{IDEMPOTENCY_KEY, check_idempotency_key, idempotency_key};
pub use line::one_line;
pub use server::{BoundServer, RequestDeadline, Routes, Server, ServerError, stamp_deadline};
pub use shutdown::shutdown_signal;
pub use tls::{TlsError, self_signed_acceptor};
