//! The bridge: tools that still speak HipChat's API (v2 and v1) call `hipkit serve`'s
//! bridge listener, and their messages are durably delivered to today's chat systems.
//!
//! A call enters through the [`intake`] (HipChat's rules, shared with the emulator through
//! `hipkit_server::hipchat_api`), is checked against the [`directory`] (tokens, rooms,
//! users), and is committed to the outbox as one parcel per destination ([`accepted`])
//! before HipChat's success answer. The outbox's workers hand each parcel to the
//! [`deliver::BridgeCouriers`], which render it for its destination's [`kinds`] with the
//! live configuration (no secret is ever stored) and send it; [`deliver::send`] is the one
//! place that reads the platforms' answers for retries.

pub mod accepted;
mod capability;
pub mod config;
pub mod deliver;
pub mod directory;
pub mod intake;
pub mod kinds;

pub use capability::StartError;
pub use config::{BridgeConfig, ConfigError};
pub use directory::Directory;
