//! What the layer and the bridge capture from a record before handing it to the background
//! task: level, target, message, fields, span chain and error source chains.

use std::borrow::Cow;
use std::error::Error;
use std::fmt::{self, Write as _};
use std::time::Duration;
use tracing::Level;
use tracing::field::{Field, Visit};

/// Longest source chain followed (a cycle or a very deep chain must not run away).
const MAX_CHAIN: usize = 16;

/// A captured record, owned, ready to cross to the background task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// Severity.
    pub level: Level,
    /// Where it came from (`my_service::db`).
    pub target: Cow<'static, str>,
    /// The call site, standing for the message template (the coalescing key with level and
    /// target).
    pub template: Cow<'static, str>,
    /// The formatted message.
    pub message: String,
    /// The record's own fields, in order, as `k=v k=v` (one allocation, not one per field).
    pub fields: String,
    /// Enclosing spans, outermost first.
    pub spans: Vec<SpanInfo>,
    /// Fields that held an error, with their source chains.
    pub errors: Vec<ErrorChain>,
    /// Set on a coalesced summary: how many identical records it stands for.
    pub repeated: Option<Repeat>,
    /// How many emitted records this one accounts for (0 for the layer's own notices).
    pub represents: u64,
}

/// A span in the chain: its name and its fields formatted as `k=v k=v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpanInfo {
    /// Span name.
    pub name: &'static str,
    /// Its fields.
    pub fields: String,
}

/// An error held by a field: its message, then each source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorChain {
    /// The field's name.
    pub field: &'static str,
    /// The error's message.
    pub message: String,
    /// Its sources, outermost first.
    pub causes: Vec<String>,
}

/// A coalesced run of identical records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repeat {
    /// Identical records absorbed.
    pub count: u64,
    /// Over how long.
    pub over: Duration,
}

/// What makes two records identical for coalescing: level, target, message template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    level: Level,
    target: Cow<'static, str>,
    template: Cow<'static, str>,
}

impl Record {
    /// A record with no fields, spans or errors.
    pub fn new(
        level: Level,
        target: Cow<'static, str>,
        template: Cow<'static, str>,
        message: String,
    ) -> Self {
        Self {
            level,
            target,
            template,
            message,
            fields: String::new(),
            spans: Vec::new(),
            errors: Vec::new(),
            repeated: None,
            represents: 1,
        }
    }

    /// The layer's own notice (counted as no emitted record).
    pub fn notice(level: Level, message: String) -> Self {
        Self {
            represents: 0,
            ..Self::new(
                level,
                Cow::Borrowed("hipkit_log"),
                Cow::Borrowed("notice"),
                message,
            )
        }
    }

    /// The coalescing key.
    pub fn key(&self) -> Key {
        Key {
            level: self.level,
            target: self.target.clone(),
            template: self.template.clone(),
        }
    }
}

/// Fills a record's message, fields and errors from a tracing event or span.
pub(crate) struct Capture<'a> {
    /// Receives the `message` field.
    pub message: &'a mut String,
    /// Receives every other field, as `k=v k=v`.
    pub fields: &'a mut String,
    /// Receives error chains (`None`: errors are kept as plain fields, as for spans).
    pub errors: Option<&'a mut Vec<ErrorChain>>,
}

impl Capture<'_> {
    /// Appends `name=value`; `write!` into a String cannot fail.
    fn push(&mut self, field: &Field, value: impl fmt::Display) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{}={value}", field.name());
    }
}

impl Visit for Capture<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push(field, value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        let message = value.to_string();
        match self.errors.as_deref_mut() {
            Some(errors) => errors.push(ErrorChain {
                field: field.name(),
                message,
                causes: causes(value),
            }),
            None => self.push(field, &message),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            // `write!` into a String cannot fail.
            let _ = write!(self.message, "{value:?}");
        } else {
            self.push(field, format_args!("{value:?}"));
        }
    }
}

/// The messages of an error's sources, outermost first.
fn causes(error: &(dyn Error + 'static)) -> Vec<String> {
    std::iter::successors(error.source(), |&e| e.source())
        .take(MAX_CHAIN)
        .map(ToString::to_string)
        .collect()
}
