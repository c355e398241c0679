//! Slash-command integrations, the Python integrations server's way, without its holes:
//! a HipChat `room_message` webhook comes in ([`intake`]), is verified ([`jwt`]), routed to
//! an integration of the folder by its anchored `/name` ([`command`], [`registry`]), run by a
//! runtime (a warm Python host per `NAME.py`, or any executable: [`runtime`]) with its token
//! ([`tokens`]) and its persistent storage ([`storage`]), and what it returns becomes the
//! webhook's reply ([`reply`]). [`Integrations`] ties them together and hands out the routers.

mod capability;
pub mod command;
pub mod config;
mod entries;
mod error;
pub mod intake;
pub mod jwt;
mod lenient;
pub mod registry;
pub mod reply;
pub mod runtime;
pub mod secret;
mod service;
pub mod slash;
pub mod storage;
pub mod tokens;

pub use config::{IntegrationsConfig, MattermostConfig, SlackConfig};
pub use error::IntegrationsError;
pub use service::{Integrations, Options};
