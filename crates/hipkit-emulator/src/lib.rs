//! A faithful local HipChat API v2 server for development and tests: rooms, users, tokens
//! and scopes, notifications and messages stored in order and served as history, shared
//! files, webhooks, rate-limit headers and 429s, and fault injection under `/_emulator/`.

mod api;
mod auth;
pub mod config;
mod control;
mod error;
mod extract;
mod faults;
mod limits;
mod serve;
mod state;
mod ui;

pub use config::{EmulatorConfig, RateSpec, TokenSpec};
pub use error::EmuError;
pub use faults::{FaultAction, FaultRule};
pub use serve::{RunningEmulator, start};
