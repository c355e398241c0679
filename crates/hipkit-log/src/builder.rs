//! Building the layer: room, transport (or endpoint and token), level, sender, notify,
//! colours, format and limits; defaults are [`LogConfig`]'s.

use crate::config::{LogConfig, MinLevel};
use crate::error::BuildError;
use crate::filter::RoomFilter;
use crate::guard::LogGuard;
use crate::intake::Intake;
use crate::layer::{FilteredRoomLayer, RoomLayer};
use crate::stats::Stats;
use crate::worker::{Plan, Poster, Worker};
use hipchat::{Color, MessageFormat, Token};
use hipkit_transport::{HttpTransport, Transport};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::level_filters::LevelFilter;
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// Where the layer sends: a ready transport, or a HipChat server to build one for.
enum Sending {
    Transport(Arc<dyn Transport>),
    Endpoint { url: String, token: Token },
}

/// Configures a [`RoomLayer`] and its [`LogGuard`]; start with [`crate::builder`].
pub struct Builder {
    config: LogConfig,
    sending: Option<Sending>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sending = match &self.sending {
            None => "none",
            Some(Sending::Transport(_)) => "transport",
            Some(Sending::Endpoint { .. }) => "endpoint and token",
        };
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("sending", &sending)
            .finish()
    }
}

impl Builder {
    /// Starts from a `[log]` section (its room included).
    pub fn from_config(config: LogConfig) -> Self {
        Self {
            config,
            sending: None,
        }
    }

    /// Sends through `transport`: e.g. `hipkit::Hipkit::transport()` (the configured
    /// backend; with the outbox, log records are as durable as any message).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.sending = Some(Sending::Transport(transport));
        self
    }

    /// Sends straight to the HipChat server at `url` with `token`.
    pub fn endpoint(mut self, url: impl Into<String>, token: Token) -> Self {
        self.sending = Some(Sending::Endpoint {
            url: url.into(),
            token,
        });
        self
    }

    /// Posts records at `level` and more severe (default WARN).
    pub fn level(mut self, level: impl Into<LevelFilter>) -> Self {
        self.config.level = MinLevel(level.into());
        self
    }

    /// The `from` label shown next to each message.
    pub fn sender(mut self, sender: impl Into<String>) -> Self {
        self.config.sender = Some(sender.into());
        self
    }

    /// Whether messages notify the room (for levels without their own setting).
    pub fn notify(mut self, notify: bool) -> Self {
        self.config.notify = notify;
        self
    }

    /// Whether messages at `level` notify the room.
    pub fn notify_level(mut self, level: Level, notify: bool) -> Self {
        self.config.notify_levels.set(level, notify);
        self
    }

    /// One colour for every level without its own.
    pub fn color(mut self, color: Color) -> Self {
        self.config.color = Some(color);
        self
    }

    /// The colour of messages at `level`.
    pub fn level_color(mut self, level: Level, color: Color) -> Self {
        self.config.colors.set(level, color);
        self
    }

    /// `text` (default) or `html`.
    pub fn format(mut self, format: MessageFormat) -> Self {
        self.config.format = format;
        self
    }

    /// Records waiting for the background task at most (default 1024).
    pub fn channel_capacity(mut self, capacity: usize) -> Self {
        self.config.channel_capacity = capacity;
        self
    }

    /// The window in which identical records are coalesced (default 60 s; zero: off).
    pub fn coalesce_window(mut self, window: Duration) -> Self {
        self.config.coalesce_window_secs = window.as_secs();
        self
    }

    /// Messages per minute posted at most (default 30, HipChat's flood control).
    pub fn room_budget_per_minute(mut self, budget: u32) -> Self {
        self.config.room_budget_per_minute = budget;
        self
    }

    /// How long the guard waits at exit for pending records (default 5 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.config.flush_timeout_secs = timeout.as_secs();
        self
    }

    /// Validates, starts the background task, and returns the layer (behind its per-layer
    /// filter) and its guard.
    pub fn build<S>(self) -> Result<(FilteredRoomLayer<S>, LogGuard), BuildError>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let room = self.config.room.clone().ok_or(BuildError::NoRoom)?;
        hipchat::validate::length("room", &room, 1, 100)?;
        hipchat::validate::optional_length("sender", self.config.sender.as_deref(), 0, 64)?;
        if self.config.channel_capacity == 0 {
            return Err(BuildError::Zero("channel_capacity"));
        }
        if self.config.room_budget_per_minute == 0 {
            return Err(BuildError::Zero("room_budget_per_minute"));
        }
        let transport = match self.sending.ok_or(BuildError::NoTransport)? {
            Sending::Transport(t) => t,
            Sending::Endpoint { url, token } => {
                let client = hipchat::Client::builder(url, token)
                    .build()
                    .map_err(BuildError::Client)?;
                Arc::new(HttpTransport::new(client))
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BuildError::Start)?;
        let config = Arc::new(self.config);
        let stats = Arc::new(Stats::default());
        let (tx, rx) = mpsc::channel(config.channel_capacity);
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        let flush_timeout = Duration::from_secs(config.flush_timeout_secs);
        let plan = Plan {
            poster: Poster::new(room, config.clone(), transport, stats.clone()),
            stats: stats.clone(),
            coalesce_window: config.coalesce_window(),
            budget_per_minute: config.room_budget_per_minute,
            pending_cap: config.channel_capacity,
            flush_timeout,
        };
        Worker::new(rx, stop_rx, plan)
            .spawn(runtime, done_tx)
            .map_err(BuildError::Start)?;
        let level = config.level.0;
        let layer = RoomLayer::new(Intake::new(tx, stats.clone(), level))
            .with_filter(RoomFilter::new(level));
        Ok((layer, LogGuard::new(stop_tx, done_rx, stats, flush_timeout)))
    }
}
