//! hipkit as a library: the same [`Settings`] the `hipkit` binary resolves, and
//! [`Hipkit`], the entry point a Rust service sends through (djhipchat2's `get_backend` and
//! `send_message`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), hipkit::Error> {
//! use hipkit::{Hipkit, SendOptions};
//! use hipchat::Color;
//!
//! // HIPCHAT_ENDPOINT, HIPCHAT_API_TOKEN, HIPCHAT_BACKEND, hipkit.toml: as the CLI reads them.
//! let hipkit = Hipkit::from_env().await?;
//! hipkit
//!     .send_message("Build Room", "deploy <b>finished</b>", SendOptions::default().color(Color::Green))
//!     .await?;
//! hipkit.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod bridged;
mod entry;
mod error;
pub mod send_api;
pub mod serve;
mod settings;

pub use entry::{Hipkit, SendOptions};
pub use error::Error;
pub use settings::{
    DEFAULT_CONFIG_FILE, ENV_ALIASES, Explained, Overrides, REDACTED, Settings, SettingsError,
};

/// The message and transport types a library user needs alongside [`Hipkit`].
pub use hipkit_transport::{
    Delivery, DeliveryState, Destination, MemoryTransport, Message, StubError, StubTransport,
    Transport, TransportError,
};
