//! The `[log]` section of `hipkit.toml`, with the Django handler's names (`room`, `sender`,
//! `notify`, `color`, `colors`, `level`), and how a record's colour and notify flag are chosen.

use crate::builder::Builder;
use crate::error::BuildError;
use crate::guard::LogGuard;
use crate::layer::FilteredRoomLayer;
use hipchat::{Color, MessageFormat};
use hipkit_transport::Transport;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;
use std::time::Duration;
use tracing::level_filters::LevelFilter;
use tracing::{Level, Subscriber};
use tracing_subscriber::registry::LookupSpan;

/// `[log]`: where records go, which ones, and how they look; every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Room (id or name) the records are posted to; unset: nothing is posted.
    pub room: Option<String>,
    /// The `from` label shown next to each message (at most 64 characters).
    pub sender: Option<String>,
    /// Whether messages notify the room's participants (unless `notify_levels` says otherwise).
    pub notify: bool,
    /// Per-level notify flags, winning over `notify` (`[log.notify_levels] error = true`).
    pub notify_levels: PerLevel<bool>,
    /// One colour for every level not named in `colors` (unset: the built-in palette).
    pub color: Option<Color>,
    /// Per-level colours, winning over `color` (`[log.colors] warn = "purple"`).
    pub colors: PerLevel<Color>,
    /// The least severe level posted (`error`, `warn`, `info`, `debug`, `trace` or `off`).
    pub level: MinLevel,
    /// `text` or `html` (everything escaped either way).
    pub format: MessageFormat,
    /// Records waiting for the background task at most; beyond it they are dropped and counted.
    pub channel_capacity: usize,
    /// Identical records within this many seconds become one message with a count (0: off).
    pub coalesce_window_secs: u64,
    /// Messages per minute posted to the room at most (HipChat's flood control allows 30).
    pub room_budget_per_minute: u32,
    /// Seconds the guard waits at exit for pending records to be sent.
    pub flush_timeout_secs: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            room: None,
            sender: None,
            notify: false,
            notify_levels: PerLevel::default(),
            color: None,
            colors: PerLevel::default(),
            level: MinLevel(LevelFilter::WARN),
            format: MessageFormat::Text,
            channel_capacity: 1024,
            coalesce_window_secs: 60,
            room_budget_per_minute: 30,
            flush_timeout_secs: 5,
        }
    }
}

/// The built-in palette: ERROR red, WARN yellow, INFO green, DEBUG and TRACE gray.
pub fn default_color(level: Level) -> Color {
    match level {
        Level::ERROR => Color::Red,
        Level::WARN => Color::Yellow,
        Level::INFO => Color::Green,
        _ => Color::Gray,
    }
}

impl LogConfig {
    /// The colour of a record at `level`: `colors`, then `color`, then the built-in palette.
    pub fn color_for(&self, level: Level) -> Color {
        self.colors
            .get(level)
            .or(self.color)
            .unwrap_or_else(|| default_color(level))
    }

    /// Whether a record at `level` notifies: `notify_levels`, then `notify`.
    pub fn notify_for(&self, level: Level) -> bool {
        self.notify_levels.get(level).unwrap_or(self.notify)
    }

    /// The coalescing window.
    pub fn coalesce_window(&self) -> Duration {
        Duration::from_secs(self.coalesce_window_secs)
    }

    /// The layer and its guard sending through `transport`, or `None` when no room is set.
    pub fn build<S>(
        &self,
        transport: Arc<dyn Transport>,
    ) -> Result<Option<(FilteredRoomLayer<S>, LogGuard)>, BuildError>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if self.room.is_none() {
            return Ok(None);
        }
        Builder::from_config(self.clone())
            .transport(transport)
            .build()
            .map(Some)
    }
}

/// One optional value per level; Django's upper-case names (`ERROR`, `WARNING`) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerLevel<T> {
    /// For ERROR records.
    #[serde(alias = "ERROR")]
    pub error: Option<T>,
    /// For WARN records.
    #[serde(alias = "WARN", alias = "warning", alias = "WARNING")]
    pub warn: Option<T>,
    /// For INFO records.
    #[serde(alias = "INFO")]
    pub info: Option<T>,
    /// For DEBUG records.
    #[serde(alias = "DEBUG")]
    pub debug: Option<T>,
    /// For TRACE records.
    #[serde(alias = "TRACE")]
    pub trace: Option<T>,
}

impl<T> Default for PerLevel<T> {
    fn default() -> Self {
        Self {
            error: None,
            warn: None,
            info: None,
            debug: None,
            trace: None,
        }
    }
}

impl<T: Copy> PerLevel<T> {
    /// The value set for `level`, if any.
    pub fn get(&self, level: Level) -> Option<T> {
        *self.slot(level)
    }

    /// Sets the value for `level`.
    pub fn set(&mut self, level: Level, value: T) {
        *self.slot_mut(level) = Some(value);
    }

    fn slot(&self, level: Level) -> &Option<T> {
        match level {
            Level::ERROR => &self.error,
            Level::WARN => &self.warn,
            Level::INFO => &self.info,
            Level::DEBUG => &self.debug,
            _ => &self.trace,
        }
    }

    fn slot_mut(&mut self, level: Level) -> &mut Option<T> {
        match level {
            Level::ERROR => &mut self.error,
            Level::WARN => &mut self.warn,
            Level::INFO => &mut self.info,
            Level::DEBUG => &mut self.debug,
            _ => &mut self.trace,
        }
    }
}

/// The least severe level posted; reads `warn`, `WARNING`, `off`, ... from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinLevel(pub LevelFilter);

impl Serialize for MinLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.to_string().to_ascii_lowercase())
    }
}

impl<'de> Deserialize<'de> for MinLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let name = match text.to_ascii_lowercase().as_str() {
            "warning" => "warn".to_owned(),
            "critical" => "error".to_owned(),
            other => other.to_owned(),
        };
        name.parse().map(MinLevel).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a level: expected error, warn, info, debug, trace or off"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> LogConfig {
        // The same deserialiser hipkit's figment settings use for a section.
        serde_json::from_str(toml).unwrap()
    }

    #[test]
    fn defaults_and_palette() {
        let config = LogConfig::default();
        assert_eq!(config.color_for(Level::ERROR), Color::Red);
        assert_eq!(config.color_for(Level::WARN), Color::Yellow);
        assert_eq!(config.color_for(Level::INFO), Color::Green);
        assert_eq!(config.color_for(Level::DEBUG), Color::Gray);
        assert_eq!(config.color_for(Level::TRACE), Color::Gray);
        assert!(!config.notify_for(Level::ERROR));
        assert_eq!(config.level, MinLevel(LevelFilter::WARN));
    }

    #[test]
    fn django_names_and_precedence() {
        let config = parse(
            r#"{"room": "Ops", "color": "purple", "colors": {"ERROR": "red", "warning": "gray"},
                "notify": true, "notify_levels": {"info": false}, "level": "WARNING"}"#,
        );
        assert_eq!(config.color_for(Level::ERROR), Color::Red);
        assert_eq!(config.color_for(Level::WARN), Color::Gray);
        assert_eq!(config.color_for(Level::INFO), Color::Purple, "base colour");
        assert!(config.notify_for(Level::ERROR));
        assert!(!config.notify_for(Level::INFO));
        assert_eq!(config.level, MinLevel(LevelFilter::WARN));
        assert_eq!(
            parse(r#"{"level": "off"}"#).level,
            MinLevel(LevelFilter::OFF)
        );
    }

    #[test]
    fn refuses_unknown_keys_colours_and_levels() {
        for bad in [
            r#"{"rooms": "Ops"}"#,
            r#"{"color": "magenta"}"#,
            r#"{"colors": {"fatal": "red"}}"#,
            r#"{"level": "loud"}"#,
        ] {
            assert!(serde_json::from_str::<LogConfig>(bad).is_err(), "{bad}");
        }
    }
}
