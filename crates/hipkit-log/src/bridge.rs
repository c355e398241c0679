//! The `log` crate bridge: `log::Log` records take the same path as tracing events.

use crate::intake::Intake;
use crate::record::Record;
use crate::reentrancy;
use std::borrow::Cow;
use tracing::Level;
use tracing::level_filters::LevelFilter;

/// A `log::Log` posting to the same room as the [`crate::RoomLayer`] it came from.
#[derive(Debug, Clone)]
pub struct LogBridge {
    intake: Intake,
}

impl LogBridge {
    pub(crate) fn new(intake: Intake) -> Self {
        Self { intake }
    }

    /// The `log` level matching the layer's minimum level.
    pub fn max_level(&self) -> log::LevelFilter {
        match self.intake.level() {
            LevelFilter::OFF => log::LevelFilter::Off,
            LevelFilter::ERROR => log::LevelFilter::Error,
            LevelFilter::WARN => log::LevelFilter::Warn,
            LevelFilter::INFO => log::LevelFilter::Info,
            LevelFilter::DEBUG => log::LevelFilter::Debug,
            _ => log::LevelFilter::Trace,
        }
    }

    /// Makes this the `log` crate's logger (process-wide, as `log` works) and sets its
    /// maximum level; fails if a logger is already set.
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        let max = self.max_level();
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max);
        Ok(())
    }
}

fn level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::ERROR,
        log::Level::Warn => Level::WARN,
        log::Level::Info => Level::INFO,
        log::Level::Debug => Level::DEBUG,
        log::Level::Trace => Level::TRACE,
    }
}

/// The call site standing for the message template: the literal format string if it has
/// no arguments, else file and line, else the message itself.
fn template(record: &log::Record<'_>) -> Cow<'static, str> {
    if let Some(literal) = record.args().as_str() {
        return Cow::Borrowed(literal);
    }
    match (record.file_static(), record.line()) {
        (Some(file), Some(line)) => Cow::Owned(format!("{file}:{line}")),
        _ => Cow::Owned(record.args().to_string()),
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.intake
            .wants(level(metadata.level()), metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || !self.intake.has_room() {
            return;
        }
        let Some(_handling) = reentrancy::enter() else {
            return;
        };
        let target = match record.module_path_static() {
            Some(path) if path == record.target() => Cow::Borrowed(path),
            _ => Cow::Owned(record.target().to_owned()),
        };
        let record = Record::new(
            level(record.level()),
            target,
            template(record),
            record.args().to_string(),
        );
        self.intake.submit(record);
    }

    fn flush(&self) {}
}
