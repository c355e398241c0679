//! The real emulator started in-process on a free loopback port.

use crate::TOKEN;
use crate::api::Api;
use hipkit_emulator::{EmulatorConfig, RunningEmulator, StartError, TokenSpec};
use std::ops::Deref;

/// An emulator on a free loopback port with the default rooms and the all-scopes [`TOKEN`];
/// change what the test needs, then [`EmulatorBuilder::start`].
pub fn emulator() -> EmulatorBuilder {
    EmulatorBuilder::from_config(EmulatorConfig::ephemeral())
}

/// What the emulator starts with.
pub struct EmulatorBuilder {
    config: EmulatorConfig,
    token: String,
    more_tokens: Vec<TokenSpec>,
}

impl EmulatorBuilder {
    /// Starts from `config` (its listen address is kept; its tokens are replaced by the
    /// builder's).
    pub fn from_config(config: EmulatorConfig) -> Self {
        Self {
            config,
            token: TOKEN.to_owned(),
            more_tokens: Vec::new(),
        }
    }

    /// The all-scopes token (instead of [`TOKEN`]) that [`Emulator::api`] sends.
    pub fn token(mut self, token: &str) -> Self {
        token.clone_into(&mut self.token);
        self
    }

    /// One more accepted token.
    pub fn also_token(mut self, spec: TokenSpec) -> Self {
        self.more_tokens.push(spec);
        self
    }

    /// The rooms that exist from the start (ids 1, 2, … in this order).
    pub fn rooms(mut self, rooms: &[&str]) -> Self {
        self.config.rooms = rooms.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// The users that exist from the start, by email.
    pub fn users(mut self, users: &[&str]) -> Self {
        self.config.users = users.iter().map(|u| (*u).to_owned()).collect();
        self
    }

    /// Any other setting.
    pub fn with(mut self, change: impl FnOnce(&mut EmulatorConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Starts it, or says why it did not start.
    pub async fn try_start(self) -> Result<Emulator, StartError> {
        let Self {
            mut config,
            token,
            more_tokens,
        } = self;
        config.tokens = std::iter::once(TokenSpec::all_scopes(&token))
            .chain(more_tokens)
            .collect();
        let running = hipkit_emulator::start(config).await?;
        Ok(Emulator { running, token })
    }

    /// Starts it; panics if it does not start.
    pub async fn start(self) -> Emulator {
        match self.try_start().await {
            Ok(emulator) => emulator,
            Err(e) => panic!("the emulator does not start: {e}"),
        }
    }
}

/// A running in-process emulator (a [`RunningEmulator`]) and its all-scopes token.
pub struct Emulator {
    running: RunningEmulator,
    token: String,
}

impl Emulator {
    /// The all-scopes token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A client for its API sending the all-scopes token.
    pub fn api(&self) -> Api {
        Api::new(&self.running.base_url, &self.token)
    }

    /// Stops it and waits until it has stopped.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl Deref for Emulator {
    type Target = RunningEmulator;

    fn deref(&self) -> &RunningEmulator {
        &self.running
    }
}
