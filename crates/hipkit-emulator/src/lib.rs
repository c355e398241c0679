//! A faithful local HipChat API v2 server for development and tests: rooms, users, tokens
//! and scopes, notifications and messages stored in order and served as history, shared
//! files, webhooks, rate-limit headers and 429s, and fault injection under `/_emulator/`.
//! Every change is published as an [`EmulatorEvent`] to subscribers ([`RunningEmulator::subscribe`]).

mod api;
mod app;
mod auth;
pub mod config;
mod control;
mod download;
mod events;
mod extract;
mod faults;
mod limits;
mod serve;
mod state;
mod ui;
mod wait;
mod webhooks;

pub use config::{ConfigError, EmulatorConfig, RateSpec, TokenSpec};
pub use events::{EmulatorEvent, FiringOutcome, Recipient, RoomInfo};
pub use faults::{FaultAction, FaultRule, FaultRuleError};
pub use serve::{RunningEmulator, StartError, start};
